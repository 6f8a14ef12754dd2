import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../api';
import { bodyOf, changes, FormValues, PLAN_FIELDS, problemsByField, valuesOf } from '../fields';
import type { Confirmation } from './ConfirmDialog';
import { FieldsForm } from './FieldsForm';

export interface Plan {
  name: string;
  source: 'file' | 'api';
  [field: string]: unknown;
}

const NAMES = PLAN_FIELDS.map((f) => f.name);

/** Create (no plan) or edit a plan: every field of the table, the API's problems beside them. */
export function PlanEditor(props: {
  plan?: Plan;
  confirm: (c: Confirmation) => void;
  onSaved: (name: string) => void;
  onCancel: () => void;
}) {
  const editing = props.plan;
  const [name, setName] = useState(editing?.name ?? '');
  const [values, setValues] = useState<FormValues>(() => valuesOf(editing, PLAN_FIELDS));
  const [problems, setProblems] = useState<Record<string, string[]>>({});
  const [other, setOther] = useState<string[]>([]);
  const title = useRef<HTMLHeadingElement>(null);
  // Opened from a row further down: bring the form into view and start there.
  useEffect(() => {
    title.current?.focus();
    title.current?.scrollIntoView({ block: 'start' });
  }, []);

  const save = async (body: Record<string, unknown>, planName: string) => {
    try {
      await api('PUT', `/v1/plans/${encodeURIComponent(planName)}`, body);
      props.onSaved(planName);
    } catch (err) {
      if (err instanceof ApiError && err.problems.length) {
        const split = problemsByField(err.problems, [...NAMES, 'name']);
        setProblems(split.byField);
        setOther(split.other);
      } else if (!(err instanceof ApiError && err.status === 401)) {
        setProblems({});
        setOther([messageOf(err)]);
      }
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const planName = name.trim();
    if (!planName) {
      setProblems({ name: ['name: a plan needs a name'] });
      return;
    }
    const body = bodyOf(values, PLAN_FIELDS);
    const lines = editing
      ? changes(bodyOf(valuesOf(editing, PLAN_FIELDS), PLAN_FIELDS), body, NAMES)
      : Object.entries(body).map(([k, v]) => `${k}: ${String(v)}`);
    props.confirm({
      title: editing ? `Change plan "${planName}"?` : `Create plan "${planName}"?`,
      lines: [
        ...(lines.length ? lines : ['No field changes: the plan is stored as it is.']),
        'Fields not set take their defaults. In force on every instance within 2 s.',
      ],
      action: editing ? 'Save changes' : 'Create plan',
      run: () => save(body, planName),
    });
  };

  return (
    <form class="editor" onSubmit={submit} noValidate aria-labelledby="editor-title">
      <h2 id="editor-title" ref={title} tabIndex={-1}>
        {editing ? `Edit plan ${editing.name}` : 'New plan'}
      </h2>
      {!editing && (
        <div class={problems.name ? 'field invalid' : 'field'} data-field="name">
          <label for="plan-name">Plan name</label>
          <input
            id="plan-name"
            name="name"
            autocomplete="off"
            value={name}
            aria-describedby="plan-name-help"
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <small id="plan-name-help" class="help">
            1-64 characters of A-Z a-z 0-9 _ -
          </small>
          {problems.name && (
            <p class="problem" role="alert">
              {problems.name.join('; ')}
            </p>
          )}
        </div>
      )}
      {other.length > 0 && (
        <ul class="problem" role="alert">
          {other.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <FieldsForm
        idPrefix="plan"
        fields={PLAN_FIELDS}
        values={values}
        problems={problems}
        onChange={setValues}
      />
      <div class="buttons">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary">
          {editing ? 'Save…' : 'Create…'}
        </button>
      </div>
    </form>
  );
}

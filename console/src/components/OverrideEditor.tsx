import { useState } from 'preact/hooks';
import { api, ApiError, messageOf, userPath } from '../api';
import { bodyOf, changes, FormValues, OVERRIDE_FIELDS, problemsByField, valuesOf } from '../fields';
import { isoFromLocal, localFromIso, localTime } from '../format';
import type { Confirmation } from './ConfirmDialog';
import { FieldsForm } from './FieldsForm';

export interface Override {
  userId: string;
  plan?: string;
  expiresAt?: string;
  [field: string]: unknown;
}

const NAMES = ['plan', ...OVERRIDE_FIELDS.map((f) => f.name), 'expiresAt'];

/** The user's override: plan, any override field, an optional expiry; set, change or remove. */
export function OverrideEditor(props: {
  userId: string;
  override: Override | null;
  planNames: string[];
  confirm: (c: Confirmation) => void;
  onChanged: (status: string) => void;
}) {
  const current = props.override;
  const [plan, setPlan] = useState(current?.plan ?? '');
  const [expires, setExpires] = useState(current?.expiresAt ? localFromIso(current.expiresAt) : '');
  const [values, setValues] = useState<FormValues>(() => valuesOf(current ?? {}, OVERRIDE_FIELDS));
  const [problems, setProblems] = useState<Record<string, string[]>>({});
  const [other, setOther] = useState<string[]>([]);

  const failed = (err: unknown) => {
    if (err instanceof ApiError && err.problems.length) {
      const split = problemsByField(err.problems, NAMES);
      setProblems(split.byField);
      setOther(split.other);
    } else if (!(err instanceof ApiError && err.status === 401)) {
      setOther([messageOf(err)]);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = bodyOf(values, OVERRIDE_FIELDS);
    if (plan) body.plan = plan;
    if (expires) {
      const at = new Date(expires);
      body.expiresAt = Number.isNaN(at.getTime()) ? expires : isoFromLocal(expires);
    }
    const before: Record<string, unknown> = current ? { ...current } : {};
    delete before.userId;
    const lines = changes(before, body, NAMES);
    props.confirm({
      title: current
        ? `Change the override of ${props.userId}?`
        : `Set an override for ${props.userId}?`,
      lines: [
        ...(lines.length ? lines : ['No changes: the override is stored as it is.']),
        body.expiresAt
          ? `Applies until ${localTime(String(body.expiresAt))}.`
          : 'Applies until removed (no expiry).',
      ],
      action: current ? 'Save override' : 'Set override',
      run: async () => {
        try {
          await api('PUT', userPath(props.userId, 'override'), body);
          setProblems({});
          setOther([]);
          props.onChanged(`Override of ${props.userId} saved.`);
        } catch (err) {
          failed(err);
        }
      },
    });
  };

  const remove = () =>
    props.confirm({
      title: `Remove the override of ${props.userId}?`,
      lines: ['The user is limited by their plan again from the next heartbeat.'],
      action: 'Remove override',
      run: async () => {
        try {
          await api('DELETE', userPath(props.userId, 'override'));
          props.onChanged(`Override of ${props.userId} removed.`);
        } catch (err) {
          failed(err);
        }
      },
    });

  return (
    <form class="editor" onSubmit={submit} noValidate aria-labelledby="override-title">
      <h2 id="override-title">Override</h2>
      <p class="help" data-override-state>
        {current
          ? `In force${current.expiresAt ? ` until ${localTime(current.expiresAt)} (${current.expiresAt})` : ', no expiry'}.`
          : 'None: the plan applies as it is.'}
      </p>
      {other.length > 0 && (
        <ul class="problem" role="alert">
          {other.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div class="fields">
        <div class={problems.plan ? 'field invalid' : 'field'} data-field="plan">
          <label for="override-plan">Plan</label>
          <select id="override-plan" value={plan} onChange={(e) => setPlan(e.currentTarget.value)}>
            <option value="">— not set —</option>
            {props.planNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          {problems.plan && <p class="problem">{problems.plan.join('; ')}</p>}
        </div>
        <div class={problems.expiresAt ? 'field invalid' : 'field'} data-field="expiresAt">
          <label for="override-expires">Expires at (local time)</label>
          <input
            id="override-expires"
            type="datetime-local"
            value={expires}
            aria-describedby="override-expires-help"
            onInput={(e) => setExpires(e.currentTarget.value)}
          />
          <small id="override-expires-help" class="help">
            Empty: until removed.
          </small>
          {problems.expiresAt && <p class="problem">{problems.expiresAt.join('; ')}</p>}
        </div>
      </div>
      <FieldsForm
        idPrefix="override"
        fields={OVERRIDE_FIELDS}
        values={values}
        problems={problems}
        onChange={setValues}
        unset="the plan's"
      />
      <div class="buttons">
        {current && (
          <button type="button" data-remove-override onClick={remove}>
            Remove override…
          </button>
        )}
        <button type="submit" class="primary">
          {current ? 'Save override…' : 'Set override…'}
        </button>
      </div>
    </form>
  );
}

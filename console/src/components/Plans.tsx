import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../api';
import { PLAN_FIELDS } from '../fields';
import type { Confirmation } from './ConfirmDialog';
import { Plan, PlanEditor } from './PlanEditor';

interface PlanList {
  defaultPlan: string;
  plans: Plan[];
}

const COLUMNS = PLAN_FIELDS.slice(0, 5);

/** The set fields beyond the first five, as "name=value". */
function extras(plan: Plan): string {
  return PLAN_FIELDS.slice(5)
    .filter((f) => plan[f.name] !== undefined && plan[f.name] !== null)
    .map((f) => `${f.name}=${String(plan[f.name])}`)
    .join(', ');
}

/** Effective plans with their source; create, edit, delete or revert. */
export function Plans(props: { confirm: (c: Confirmation) => void }) {
  const [list, setList] = useState<PlanList>();
  const [editing, setEditing] = useState<Plan | 'new'>();
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  const load = async () => {
    try {
      setList(await api<PlanList>('GET', '/v1/plans'));
      setError('');
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(messageOf(err));
    }
  };
  useEffect(() => void load(), []);

  const remove = (plan: Plan) =>
    props.confirm({
      title: `Delete or revert plan "${plan.name}"?`,
      lines: [
        `The API version of "${plan.name}" is removed.`,
        'If the plans file has this plan, its file values apply again; otherwise the plan is deleted and its users fall back to the default plan' +
          (list ? ` "${list.defaultPlan}".` : '.'),
      ],
      action: 'Delete / revert',
      run: async () => {
        let outcome = `Plan ${plan.name} removed or reverted.`;
        try {
          await api('DELETE', `/v1/plans/${encodeURIComponent(plan.name)}`);
        } catch (err) {
          outcome = `Cannot remove ${plan.name}: ${messageOf(err)}`;
        }
        // The status speaks of the list as it now is.
        await load();
        setStatus(outcome);
      },
    });

  const saved = async (name: string) => {
    setEditing(undefined);
    await load();
    setStatus(`Plan ${name} saved.`);
  };

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>
        Plans
      </h1>
      <p class="help">
        Effective plans: the plans file, with plans changed through the API on top (source api).
      </p>
      <p role="status" class="status">
        {status}
      </p>
      {error && (
        <p class="problem" role="alert">
          {error}
        </p>
      )}
      {editing ? (
        <PlanEditor
          key={editing === 'new' ? 'new' : editing.name}
          plan={editing === 'new' ? undefined : editing}
          confirm={props.confirm}
          onSaved={(name) => void saved(name)}
          onCancel={() => setEditing(undefined)}
        />
      ) : (
        <button
          type="button"
          class="primary"
          onClick={() => {
            setStatus('');
            setEditing('new');
          }}
        >
          New plan…
        </button>
      )}
      {list && (
        <div class="table-wrap">
          <table class="plans">
            <caption>Effective plans (default: {list.defaultPlan})</caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Source</th>
                {COLUMNS.map((c) => (
                  <th key={c.name} scope="col">
                    {c.label}
                  </th>
                ))}
                <th scope="col">Other fields</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.plans.map((p) => (
                <tr key={p.name} data-plan={p.name}>
                  <th scope="row">
                    {p.name}
                    {p.name === list.defaultPlan && <span class="badge">default</span>}
                  </th>
                  <td>
                    <span class={`badge ${p.source}`}>{p.source}</span>
                  </td>
                  {COLUMNS.map((c) => (
                    <td key={c.name} data-col={c.name}>
                      {String(p[c.name] ?? '–')}
                    </td>
                  ))}
                  <td>{extras(p) || '–'}</td>
                  <td class="actions">
                    <button
                      type="button"
                      data-edit={p.name}
                      onClick={() => {
                        setStatus('');
                        setEditing(p);
                      }}
                    >
                      Edit<span class="sr-only"> plan {p.name}</span>
                    </button>
                    {p.source === 'api' && p.name !== list.defaultPlan && (
                      <button type="button" data-delete={p.name} onClick={() => remove(p)}>
                        Delete / revert<span class="sr-only"> plan {p.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

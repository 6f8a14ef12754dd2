import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, messageOf, userPath } from '../api';
import type { Confirmation } from './ConfirmDialog';
import { Override, OverrideEditor } from './OverrideEditor';
import { DeviceRow, DeviceTable, SessionRow, SessionTable } from './UserTables';

interface UserSessions {
  userId: string;
  plan: string;
  countBy: string;
  maxStreams: number;
  activeStreams: number;
  sessions: SessionRow[];
  downloads?: SessionRow[];
}

interface UserState {
  sessions: UserSessions;
  override: Override | null;
  /** null: this usher has no device registrations (404). */
  devices: DeviceRow[] | null;
  planNames: string[];
  loadedAt: number;
}

const notFound = (err: unknown) => err instanceof ApiError && err.status === 404;

async function loadUser(userId: string): Promise<UserState> {
  const [sessions, override, devices, plans] = await Promise.all([
    api<UserSessions>('GET', userPath(userId, 'sessions')),
    api<Override>('GET', userPath(userId, 'override')).catch((err: unknown) => {
      if (notFound(err)) return null;
      throw err;
    }),
    api<DeviceRow[] | { devices?: DeviceRow[] }>('GET', userPath(userId, 'devices')).then(
      (d) => (Array.isArray(d) ? d : (d.devices ?? [])),
      (err: unknown) => {
        if (notFound(err)) return null;
        throw err;
      },
    ),
    api<{ plans: { name: string }[] }>('GET', '/v1/plans'),
  ]);
  const planNames = plans.plans.map((p) => p.name);
  return { sessions, override, devices, planNames, loadedAt: Date.now() };
}

/** Look a user up: plan in force, override, live sessions, devices, downloads. */
export function UserLookup(props: { userId: string; confirm: (c: Confirmation) => void }) {
  const [input, setInput] = useState(props.userId);
  const [state, setState] = useState<UserState>();
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const userId = props.userId;

  const load = async (message = '') => {
    if (!userId) return setState(undefined);
    try {
      setState(await loadUser(userId));
      setError('');
      setStatus(message);
    } catch (err) {
      setState(undefined);
      if (!(err instanceof ApiError && err.status === 401)) setError(messageOf(err));
    }
  };
  useEffect(() => {
    setInput(userId);
    void load();
  }, [userId]);

  const lookUp = (e: Event) => {
    e.preventDefault();
    const id = input.trim();
    if (id === userId) void load();
    else location.hash = `#/users/${encodeURIComponent(id)}`;
  };

  const act = (c: Omit<Confirmation, 'run'>, method: 'DELETE', path: string, done: string) =>
    props.confirm({
      ...c,
      run: async () => {
        try {
          await api(method, path);
          await load(done);
        } catch (err) {
          setStatus(`Failed: ${messageOf(err)}`);
        }
      },
    });

  const s = state?.sessions;
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>
        User look-up
      </h1>
      <form class="lookup" role="search" onSubmit={lookUp}>
        <label for="user-id">User ID</label>
        <input
          id="user-id"
          name="userId"
          autocomplete="off"
          spellcheck={false}
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Look up
        </button>
        {s && (
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        )}
      </form>
      <p role="status" class="status">
        {status}
      </p>
      {error && (
        <p class="problem" role="alert">
          {error}
        </p>
      )}
      {state && s && (
        <div class="user" data-user={s.userId}>
          <dl class="figures">
            <div>
              <dt>Plan in force</dt>
              <dd data-figure="plan">{s.plan}</dd>
            </div>
            <div>
              <dt>Counted by</dt>
              <dd>{s.countBy}</dd>
            </div>
            <div>
              <dt>Live slots</dt>
              <dd data-figure="slots">
                {s.activeStreams} / {s.maxStreams}
              </dd>
            </div>
          </dl>
          <h2>Live sessions</h2>
          <SessionTable
            caption="Live sessions"
            rows={s.sessions}
            endLabel="Terminate"
            onEnd={(row) =>
              act(
                {
                  title: `Terminate session ${row.sessionId}?`,
                  lines: [
                    `Session ${row.sessionId} of ${s.userId} (device ${row.deviceId ?? '–'}) is revoked and its slot freed now.`,
                    'Its next heartbeat is denied (session_revoked): playback stops when its licence runs out.',
                  ],
                  action: 'Terminate',
                },
                'DELETE',
                userPath(s.userId, 'sessions', row.sessionId),
                `Session ${row.sessionId} terminated.`,
              )
            }
          />
          {s.sessions.length > 0 && (
            <button
              type="button"
              class="danger"
              data-terminate-all
              onClick={() =>
                act(
                  {
                    title: `Terminate all sessions of ${s.userId}?`,
                    lines: [
                      `All ${s.sessions.length} live sessions are revoked and every slot freed now.`,
                    ],
                    action: 'Terminate all',
                  },
                  'DELETE',
                  userPath(s.userId, 'sessions'),
                  `All sessions of ${s.userId} terminated.`,
                )
              }
            >
              Terminate all…
            </button>
          )}
          {state.devices && (
            <>
              <h2>Devices</h2>
              <DeviceTable
                rows={state.devices}
                onForget={(d) =>
                  act(
                    {
                      title: `Forget device ${d.deviceId}?`,
                      lines: [`Device ${d.deviceId} no longer counts against the device limit.`],
                      action: 'Forget device',
                    },
                    'DELETE',
                    userPath(s.userId, 'devices', d.deviceId),
                    `Device ${d.deviceId} forgotten.`,
                  )
                }
              />
            </>
          )}
          {s.downloads && (
            <>
              <h2>Downloads</h2>
              <SessionTable
                caption="Downloads"
                rows={s.downloads}
                endLabel="End download"
                onEnd={(row) =>
                  act(
                    {
                      title: `End download ${row.sessionId}?`,
                      lines: [`The download no longer counts against the download limit.`],
                      action: 'End download',
                    },
                    'DELETE',
                    userPath(s.userId, 'downloads', row.sessionId),
                    `Download ${row.sessionId} ended.`,
                  )
                }
              />
            </>
          )}
          <OverrideEditor
            key={`${s.userId}-${state.loadedAt}`}
            userId={s.userId}
            override={state.override}
            planNames={state.planNames}
            confirm={props.confirm}
            onChanged={(message) => void load(message)}
          />
        </div>
      )}
    </section>
  );
}

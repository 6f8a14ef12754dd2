import { localTime } from '../format';

export interface SessionRow {
  sessionId: string;
  deviceId?: string | null;
  drm?: string;
  contentId?: string | null;
  startedAt?: string;
  lastSeenAt?: string;
  expiresAt?: string;
}

export interface DeviceRow {
  deviceId: string;
  firstSeenAt?: string;
  lastSeenAt?: string;
}

function When({ iso }: { iso?: string }) {
  return iso ? <time dateTime={iso}>{localTime(iso)}</time> : <>–</>;
}

/** Live sessions or downloads, one row each, with an end button per row. */
export function SessionTable(props: {
  caption: string;
  rows: SessionRow[];
  endLabel: string;
  onEnd: (row: SessionRow) => void;
}) {
  if (!props.rows.length) return <p class="help">{props.caption}: none.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Device</th>
            <th scope="col">DRM</th>
            <th scope="col">Content</th>
            <th scope="col">Started</th>
            <th scope="col">Last seen</th>
            <th scope="col">Expires</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((s) => (
            <tr key={s.sessionId} data-session={s.sessionId}>
              <th scope="row" class="id">
                {s.sessionId}
              </th>
              <td class="id">{s.deviceId ?? '–'}</td>
              <td>{s.drm ?? '–'}</td>
              <td class="id">{s.contentId ?? '–'}</td>
              <td>
                <When iso={s.startedAt} />
              </td>
              <td>
                <When iso={s.lastSeenAt} />
              </td>
              <td>
                <When iso={s.expiresAt} />
              </td>
              <td>
                <button type="button" data-end={s.sessionId} onClick={() => props.onEnd(s)}>
                  {props.endLabel}
                  <span class="sr-only"> {s.sessionId}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Registered devices (device limit), each with a button to free its registration. */
export function DeviceTable(props: { rows: DeviceRow[]; onForget: (row: DeviceRow) => void }) {
  if (!props.rows.length) return <p class="help">No registered devices.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">Registered devices</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((d) => (
            <tr key={d.deviceId}>
              <th scope="row" class="id">
                {d.deviceId}
              </th>
              <td>
                <When iso={d.firstSeenAt} />
              </td>
              <td>
                <When iso={d.lastSeenAt} />
              </td>
              <td>
                <button type="button" onClick={() => props.onForget(d)}>
                  Forget<span class="sr-only"> device {d.deviceId}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

import { useState } from 'preact/hooks';
import { ApiError, checkToken, messageOf } from '../api';
import { saveToken } from '../token';

/** Paste an admin token; it is checked against the admin API before it is kept. */
export function SignIn(props: { notice?: string; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return setError('Paste an admin token.');
    setBusy(true);
    try {
      await checkToken(value);
      saveToken(value);
      setToken('');
      props.onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This token is not known to usher.'
          : err instanceof ApiError && err.status === 403
            ? 'This token cannot use the admin API (it is not an admin token).'
            : `Cannot sign in: ${messageOf(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>usher console</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="signin-note">
        {props.notice && <p class="notice">{props.notice}</p>}
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        {error && (
          <p id="signin-error" class="problem" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
        <p id="signin-note" class="help">
          The token stays in this tab only (sessionStorage) and is sent as a bearer token to the
          admin API. Closing the tab signs you out.
        </p>
      </form>
    </main>
  );
}

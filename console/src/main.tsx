import 'uplot/dist/uPlot.min.css';
import './styles.css';
import './screens.css';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { whenSignedOut } from './api';
import { Confirmation, ConfirmDialog } from './components/ConfirmDialog';
import { Overview } from './components/Overview';
import { Plans } from './components/Plans';
import { SignIn } from './components/SignIn';
import { UserLookup } from './components/UserLookup';
import { forgetToken, readToken } from './token';

type Route = { screen: 'overview' } | { screen: 'plans' } | { screen: 'users'; userId: string };

/** Screens live in the fragment (#/plans, #/users/<id>); the token never does. */
function parseRoute(hash: string): Route {
  const [, screen, id] = /^#\/([a-z]+)\/?(.*)$/.exec(hash) ?? [];
  if (screen === 'plans') return { screen };
  if (screen === 'users') return { screen, userId: decodeURIComponent(id ?? '') };
  return { screen: 'overview' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

const NAV = [
  { screen: 'overview', href: '#/overview', label: 'Overview' },
  { screen: 'plans', href: '#/plans', label: 'Plans' },
  { screen: 'users', href: '#/users', label: 'User look-up' },
] as const;

function App() {
  const [signedIn, setSignedIn] = useState(() => readToken() !== null);
  const [notice, setNotice] = useState('');
  const [confirmation, setConfirmation] = useState<Confirmation>();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  useEffect(
    () =>
      whenSignedOut(() => {
        setConfirmation(undefined);
        setSignedIn(false);
        setNotice('The admin API did not accept the token any more (401): sign in again.');
      }),
    [],
  );
  // A new screen: move focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => main.current?.querySelector<HTMLElement>('h1')?.focus(), [route.screen]);

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice('');
          setSignedIn(true);
        }}
      />
    );
  }
  const signOut = () => {
    forgetToken();
    setNotice('Signed out.');
    setSignedIn(false);
  };
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          // The fragment holds the route: move focus instead of following the link.
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('h1')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">usher console</span>
        <nav aria-label="Screens">
          <ul>
            {NAV.map((n) => (
              <li key={n.screen}>
                <a href={n.href} aria-current={route.screen === n.screen ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main}>
        {route.screen === 'overview' && <Overview />}
        {route.screen === 'plans' && <Plans confirm={setConfirmation} />}
        {route.screen === 'users' && <UserLookup userId={route.userId} confirm={setConfirmation} />}
      </main>
      <ConfirmDialog confirmation={confirmation} onClose={() => setConfirmation(undefined)} />
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}

import { Nango } from '@keyway/frontend';
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './App.tsx';
import { linkTokenOf, parentOriginOf } from './parent.ts';
import './styles.css';

const root = document.getElementById('app');
const linkToken = linkTokenOf(location.hash);
// Out of the address bar and the history once read: the link is a credential for 30 minutes.
if (linkToken) history.replaceState(null, '', location.pathname + location.search);
if (root) {
  render(
    <App
      deps={{
        parentOrigin: window.parent !== window ? parentOriginOf(location.search, { ancestorOrigin: location.ancestorOrigins?.[0], referrer: document.referrer }) : null,
        linkToken,
        parent: window.parent !== window ? window.parent : null,
        events: window,
        api: createApi(fetch.bind(window)),
        // The page is served by the Keyway server itself: the SDK's host is this origin.
        createAuthClient: (token) => new Nango({ host: location.origin, connectSessionToken: token }),
      }}
    />,
    root,
  );
}

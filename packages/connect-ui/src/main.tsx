import { Nango } from '@keyway/frontend';
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './App.tsx';
import { parentOriginOf } from './parent.ts';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  render(
    <App
      deps={{
        parentOrigin: window.parent !== window ? parentOriginOf(location.search, { ancestorOrigin: location.ancestorOrigins?.[0], referrer: document.referrer }) : null,
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

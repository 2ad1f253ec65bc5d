import { Nango } from '@keyway/frontend';
import { render } from 'preact';
import { Api } from './api.ts';
import { App } from './App.tsx';
import { browserNav } from './router.ts';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  render(
    <App
      deps={{
        api: new Api(fetch.bind(window)),
        nav: browserNav(window),
        // The dashboard is served by the Keyway server itself, whose own origin may open flows.
        createAuthClient: (credential) => new Nango({ host: location.origin, ...credential }),
        clipboard: navigator.clipboard,
      }}
    />,
    root,
  );
}

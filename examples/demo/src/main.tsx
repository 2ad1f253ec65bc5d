import { Nango } from '@keyway/frontend';
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './App.tsx';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  render(<App api={createApi()} createAuthClient={(config) => new Nango({ host: config.keywayHost, connectSessionToken: config.connectSessionToken })} />, root);
}

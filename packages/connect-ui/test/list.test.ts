// @vitest-environment happy-dom
import { fireEvent, screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { categoryLabel, matchesQuery } from '../src/fields.ts';
import { ATTIO, BAMBOO, GITHUB, ZENDESK, heading, mount, sessionOf, settle } from './harness.ts';

const names = () => within(screen.getByRole('list')).queryAllByRole('button').map((b) => b.querySelector('.kw-item-name')!.textContent);
const search = (q: string) => settle(() => fireEvent.input(screen.getByRole('searchbox', { name: 'Search integrations' }), { target: { value: q } }));

describe('the integration list', () => {
  it('shows the allowed integrations by name with their category, without client-credentials ones', async () => {
    const t = mount();
    await t.start();
    expect(heading().textContent).toBe('Connect an account');
    expect(document.activeElement).toBe(heading());
    expect(names()).toEqual(['Attio (API key)', 'BambooHR (API key)', 'GitHub', 'Zendesk']);
    expect(screen.getByRole('button', { name: /^GitHub\W+Dev tools$/ })).toBeTruthy();
    expect(screen.getByRole('button', { name: /^Zendesk\W+Support, Ticketing$/ })).toBeTruthy();
    expect(screen.queryByText('Machine to machine')).toBeNull();
    expect(screen.getByRole('status').textContent).toBe('4 integrations');
  });

  it('filters as one types: by name, by category, several words, case and accents ignored', async () => {
    const t = mount();
    await t.start();
    await search('git');
    expect(names()).toEqual(['GitHub']);
    expect(screen.getByRole('status').textContent).toBe('1 of 4 integrations');
    await search('CRM');
    expect(names()).toEqual(['Attio (API key)']);
    await search('api key hr');
    expect(names()).toEqual(['BambooHR (API key)']);
    await search('tickéting');
    expect(names()).toEqual(['Zendesk']);
    await search('salesforce');
    expect(names()).toEqual([]);
    expect(screen.getByRole('status').textContent).toBe('No integration matches “salesforce”.');
    await search('  ');
    expect(names()).toHaveLength(4);
  });

  it('opens an integration, focuses its heading, and comes back with the search kept', async () => {
    const t = mount();
    await t.start();
    await search('zen');
    await settle(() => fireEvent.click(screen.getByRole('button', { name: /Zendesk/ })));
    expect(heading().textContent).toBe('Connect Zendesk');
    expect(document.activeElement).toBe(heading());
    await settle(() => fireEvent.click(screen.getByRole('button', { name: /All integrations/ })));
    expect(heading().textContent).toBe('Connect an account');
    expect((screen.getByRole('searchbox') as HTMLInputElement).value).toBe('zen');
    expect(names()).toEqual(['Zendesk']);
  });

  it('goes straight to the only integration, with no way back to a list', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB]));
    expect(heading().textContent).toBe('Connect GitHub');
    expect(screen.queryByRole('button', { name: /All integrations/ })).toBeNull();
  });

  it('says so when the session allows nothing a user can connect', async () => {
    const t = mount();
    await t.start(sessionOf([]));
    expect(screen.getByText(/nothing to connect/)).toBeTruthy();
    expect(screen.queryByRole('searchbox')).toBeNull();
  });
});

describe('helpers', () => {
  it('category labels', () => {
    expect(['crm', 'dev-tools', 'e-commerce', 'hr', 'knowledge-base'].map(categoryLabel)).toEqual(['CRM', 'Dev tools', 'E-commerce', 'HR', 'Knowledge base']);
  });
  it('matches the key and provider too', () => {
    expect(matchesQuery(BAMBOO, 'bamboohr-basic')).toBe(true);
    expect(matchesQuery(ATTIO, 'attio-key')).toBe(true);
    expect(matchesQuery(ZENDESK, 'github')).toBe(false);
  });
});

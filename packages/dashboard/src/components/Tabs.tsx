import { Link } from './ui.tsx';

/** A page's tabs as links (each tab has its own address, so Back and a reload keep it); the current one marked. */
export function Tabs({ label, tabs, current }: { label: string; tabs: readonly { href: string; label: string }[]; current: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      <ul>
        {tabs.map((t) => (
          <li key={t.href}>
            <Link href={t.href} aria-current={t.href === current ? 'page' : undefined} data-testid={`tab-${t.label.toLowerCase()}`}>
              {t.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export const connectionTabs = (href: { details: string; activity: string }) => [
  { href: href.details, label: 'Details' },
  { href: href.activity, label: 'Activity' },
];

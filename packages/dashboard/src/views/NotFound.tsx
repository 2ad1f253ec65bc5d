import { Link, PageHeading } from '../components/ui.tsx';
import { paths } from '../router.ts';

export function NotFoundView() {
  return (
    <section>
      <PageHeading>Page not found</PageHeading>
      <p>
        There is nothing at this address. <Link href={paths.integrations()}>Go to the integrations</Link>.
      </p>
    </section>
  );
}

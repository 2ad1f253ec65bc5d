/** A template's logo, served by the server at /images/template-logos/<name>.svg (a brand icon or a monogram). */
export function TemplateLogo({ name }: { name: string }) {
  return <img class="template-logo" src={`/images/template-logos/${encodeURIComponent(name)}.svg`} alt="" width={20} height={20} loading="lazy" />;
}

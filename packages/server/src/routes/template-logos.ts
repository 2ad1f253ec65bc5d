import { Router } from 'express';
import { KeywayError } from '../errors.ts';
import type { TemplateCatalog } from '../templates/catalog.ts';
import { TemplateLogos } from '../templates/logos.ts';

const FILE = /^([a-z0-9][a-z0-9_.-]{0,63})\.svg$/;

/**
 * `GET /images/template-logos/:template.svg`, public as in Nango: the dashboard and the Connect
 * UI show it next to each integration. The SVG is ours or Simple Icons', never user input; a
 * strict CSP keeps it inert if opened on its own.
 */
export function templateLogoRoutes(deps: { templates: TemplateCatalog }): Router {
  const r = Router();
  const logos = new TemplateLogos();
  r.get('/images/template-logos/:file', (req, res) => {
    const name = FILE.exec(req.params.file)?.[1];
    const template = name === undefined ? undefined : deps.templates.get(name);
    if (!template) throw new KeywayError('not_found', 'No such template logo');
    res.set({
      'Content-Type': 'image/svg+xml; charset=utf-8',
      'Cache-Control': 'public, max-age=86400',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    res.send(logos.svg(template));
  });
  return r;
}

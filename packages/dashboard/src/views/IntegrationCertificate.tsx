import { useId, useState } from 'preact/hooks';
import { useApp, useMounted } from '../context.ts';
import { ConfirmDialog } from '../components/Dialog.tsx';
import { DateTime, Facts, TextField } from '../components/ui.tsx';
import { formatDate, relative } from '../format.ts';
import type { CertificateInput, CertificateSummary, Integration } from '../types.ts';

/** A certificate that ends within this many days is flagged: ADP takes days to sign a new one. */
export const EXPIRY_WARNING_DAYS = 30;

export type Expiry = 'valid' | 'expiring' | 'expired';

export function certificateExpiry(c: CertificateSummary, now: number): Expiry {
  const end = Date.parse(c.not_after);
  if (Number.isNaN(end)) return 'valid';
  if (end <= now) return 'expired';
  return end - now <= EXPIRY_WARNING_DAYS * 86_400_000 ? 'expiring' : 'valid';
}

export type CertificateErrors = Partial<Record<keyof CertificateInput, string>>;

/** Both PEMs, or neither (`required`: both). The server checks the rest (parsing, key match, validity) and says which failed. */
export function checkCertificate(f: CertificateInput, required: boolean): CertificateErrors {
  const certificate = f.certificate.trim();
  const privateKey = f.private_key.trim();
  if (!required && !certificate && !privateKey) return {};
  const orNeither = required ? '' : ', or leave both fields empty';
  return {
    ...(!certificate && { certificate: `Paste the certificate chain (PEM)${orNeither}.` }),
    ...(!privateKey && { private_key: `Paste the certificate's private key (PEM)${orNeither}.` }),
  };
}

/** The `client_certificate` of a request body, or undefined when both fields are empty. */
export function certificateOf(f: CertificateInput): CertificateInput | undefined {
  const certificate = f.certificate.trim();
  const privateKey = f.private_key.trim();
  return certificate && privateKey ? { certificate, private_key: privateKey } : undefined;
}

const EMPTY: CertificateInput = { certificate: '', private_key: '' };

/**
 * The two PEM fields. The key field is write-only: never pre-filled, `autocomplete="off"`, and its owner empties it
 * once a request has left, so the key lives on only in that request.
 */
export function CertificateFields({ value, onValue, errors }: { value: CertificateInput; onValue(v: CertificateInput): void; errors: CertificateErrors }) {
  return (
    <>
      <PemField
        label="Certificate chain (PEM)"
        value={value.certificate}
        onValue={(certificate) => onValue({ ...value, certificate })}
        hint="The certificate the provider signed for your app, then its intermediates: -----BEGIN CERTIFICATE----- …"
        error={errors.certificate}
        field="certificate"
      />
      <PemField
        label="Private key (PEM)"
        value={value.private_key}
        onValue={(private_key) => onValue({ ...value, private_key })}
        hint="Unencrypted (-----BEGIN PRIVATE KEY----- …). Write-only: stored encrypted, never shown, and this field is emptied once sent."
        error={errors.private_key}
        field="private_key"
      />
    </>
  );
}

function PemField({ label, value, onValue, hint, error, field }: { label: string; value: string; onValue(v: string): void; hint: string; error: string | undefined; field: keyof CertificateInput }) {
  return (
    <TextField
      type="multiline"
      rows={5}
      label={label}
      value={value}
      onValue={onValue}
      hint={hint}
      error={error}
      autoComplete="off"
      spellcheck={false}
      data-field={field}
      data-testid={`pem-${field}`}
    />
  );
}

/**
 * For templates that require mutual TLS (`client_certificate: true`, ADP): the stored certificate's public facts and
 * how long it is valid, a form to set or replace it, and its removal. Connections are refused while none is set.
 */
export function ClientCertificateCard({ integration, onSaved }: { integration: Integration; onSaved(i: Integration): void }) {
  const { api, announce, deps } = useApp();
  const mounted = useMounted();
  const id = useId();
  const [form, setForm] = useState<CertificateInput>(EMPTY);
  const [errors, setErrors] = useState<CertificateErrors>({});
  const [failure, setFailure] = useState('');
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState(false);
  const cert = integration.client_certificate;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const next = checkCertificate(form, true);
    setErrors(next);
    setFailure('');
    if (Object.keys(next).length > 0) return;
    const input = certificateOf(form)!;
    // The key leaves component state with the request; on a refusal it is pasted again.
    setForm((f) => ({ ...f, private_key: '' }));
    setBusy(true);
    try {
      const updated = await api.updateIntegration(integration.unique_key, { client_certificate: input });
      announce('Client certificate saved.', 'success');
      if (mounted.current) {
        setForm(EMPTY);
        onSaved(updated);
      }
    } catch (err) {
      if (mounted.current) setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-h`} data-testid="client-certificate">
      <h2 id={`${id}-h`}>Client certificate (mutual TLS)</h2>
      {cert ? <Summary cert={cert} now={deps.now?.() ?? Date.now()} /> : (
        <p class="notice" data-testid="certificate-none">
          No client certificate is set: this provider requires one, and connections of this integration are refused until it is.
        </p>
      )}
      <form onSubmit={submit} noValidate data-testid="certificate-form">
        <CertificateFields value={form} onValue={setForm} errors={errors} />
        {failure && (
          <p class="field-error" role="alert" data-testid="certificate-error">
            {failure}
          </p>
        )}
        <div class="actions">
          <button type="submit" disabled={busy} data-testid="save-certificate">
            {busy ? 'Saving…' : cert ? 'Replace certificate' : 'Save certificate'}
          </button>
          {cert && (
            <button type="button" class="danger" onClick={() => setRemoving(true)} data-testid="remove-certificate">
              Remove
            </button>
          )}
        </div>
      </form>
      {removing && (
        <ConfirmDialog
          title="Remove the client certificate?"
          confirmLabel="Remove certificate"
          busyLabel="Removing…"
          onClose={() => setRemoving(false)}
          onConfirm={async () => {
            const updated = await api.updateIntegration(integration.unique_key, { client_certificate: null });
            announce('Client certificate removed.', 'success');
            if (mounted.current) {
              setRemoving(false);
              onSaved(updated);
            }
          }}
        >
          <p>
            Connections of <span class="mono">{integration.unique_key}</span> will be refused, and its token and API requests fail, until a new
            certificate is set.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function Summary({ cert, now }: { cert: CertificateSummary; now: number }) {
  const expiry = certificateExpiry(cert, now);
  return (
    <>
      <Facts
        rows={[
          ['Subject', <span class="mono">{cert.subject}</span>],
          ['Issuer', <span class="mono">{cert.issuer}</span>],
          ['Valid from', <DateTime iso={cert.not_before} />],
          ['Valid until', <DateTime iso={cert.not_after} withRelative />],
          ['SHA-256 fingerprint', <span class="mono fingerprint">{cert.fingerprint256}</span>],
        ]}
      />
      {expiry !== 'valid' && (
        <p class={`result ${expiry === 'expired' ? 'result-error' : 'result-warning'}`} data-testid="certificate-expiry">
          {expiry === 'expired'
            ? `This certificate expired on ${formatDate(cert.not_after)}: the provider refuses every request until a new one is set below.`
            : `This certificate expires ${relative(cert.not_after, now)} (${formatDate(cert.not_after)}): ask the provider to sign a new one and replace it below.`}
        </p>
      )}
    </>
  );
}

import type { FormField } from '../fields.ts';

export interface TextFieldProps {
  readonly field: FormField;
  readonly domId: string;
  readonly value: string;
  readonly error: string | null;
  /** While a connect attempt runs (read-only rather than disabled: a disabled field loses the focus). */
  readonly readOnly: boolean;
  readonly onInput: (value: string) => void;
  readonly onBlur: () => void;
}

/** A labelled input with its description, example and inline error, all tied to it through aria-describedby. */
export function TextField({ field, domId, value, error, readOnly, onInput, onBlur }: TextFieldProps) {
  const hintId = `${domId}-hint`;
  const errorId = `${domId}-error`;
  const hint = [field.description, field.example && !field.secret ? `Example: ${field.example}` : ''].filter(Boolean).join(' ');
  const describedBy = [hint && hintId, error && errorId].filter(Boolean).join(' ');
  return (
    <div class={error ? 'kw-field kw-invalid' : 'kw-field'}>
      <label for={domId}>{field.title}</label>
      {hint && (
        <p class="kw-hint" id={hintId}>
          {hint}
        </p>
      )}
      <input
        id={domId}
        name={field.id}
        // (Preact's input types tell `password` inputs apart from `text` ones; this one is either.)
        type={(field.secret ? 'password' : 'text') as 'text'}
        value={value}
        required
        readOnly={readOnly}
        autocomplete="off"
        autocapitalize="off"
        spellcheck={false}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
        onInput={(e) => onInput(e.currentTarget.value)}
        onBlur={onBlur}
      />
      {error && (
        <p class="kw-field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

import type { FieldSpec, FormValues } from '../fields';

interface FieldProps {
  spec: FieldSpec;
  /** What "not set" means here; by default the API's fallback value. */
  unset?: string;
  id: string;
  value: string;
  problems?: string[];
  onInput: (value: string) => void;
}

function unsetText(spec: FieldSpec, unset?: string): string {
  if (unset) return `not set (${unset})`;
  return spec.fallback === undefined ? 'not set' : `not set (${spec.fallback})`;
}

/** One labelled control; its help and the API's problems are tied to it (aria-describedby). */
export function Field({ spec, unset, id, value, problems, onInput }: FieldProps) {
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const invalid = Boolean(problems?.length);
  const common = {
    id,
    name: spec.name,
    'aria-describedby': invalid ? `${problemId} ${helpId}` : helpId,
    'aria-invalid': invalid ? ('true' as const) : undefined,
  };
  const range =
    spec.min !== undefined ? ` ${spec.min}–${spec.max}` : spec.options ? '' : ' true/false';
  let control;
  if (spec.type === 'integer') {
    control = (
      <input
        {...common}
        type="text"
        inputMode="numeric"
        autocomplete="off"
        placeholder={unsetText(spec, unset)}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    );
  } else {
    const options = spec.type === 'boolean' ? ['true', 'false'] : (spec.options ?? []);
    control = (
      <select {...common} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="">— {unsetText(spec, unset)} —</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  }
  return (
    <div class={invalid ? 'field invalid' : 'field'} data-field={spec.name}>
      <label for={id}>
        {spec.label} <code>{spec.name}</code>
      </label>
      {control}
      <small id={helpId} class="help">
        {spec.help}
        {range && <span class="range">{range}</span>}
      </small>
      {invalid && (
        <p id={problemId} class="problem" role="alert">
          {problems?.join('; ')}
        </p>
      )}
    </div>
  );
}

/** Every field of a table, grouped, each with its problems. */
export function FieldsForm(props: {
  idPrefix: string;
  fields: readonly FieldSpec[];
  values: FormValues;
  problems: Record<string, string[]>;
  onChange: (values: FormValues) => void;
  unset?: string;
}) {
  const groups = [...new Set(props.fields.map((f) => f.group))];
  return (
    <div>
      {groups.map((group) => (
        <fieldset key={group}>
          <legend>{group}</legend>
          <div class="fields">
            {props.fields
              .filter((f) => f.group === group)
              .map((spec) => (
                <Field
                  key={spec.name}
                  spec={spec}
                  unset={props.unset}
                  id={`${props.idPrefix}-${spec.name}`}
                  value={props.values[spec.name] ?? ''}
                  problems={props.problems[spec.name]}
                  onInput={(value) => props.onChange({ ...props.values, [spec.name]: value })}
                />
              ))}
          </div>
        </fieldset>
      ))}
    </div>
  );
}

// The inputs of a parameter form, one per schema property (see schemaForm.ts).
import type { JsonSchema } from "./api";
import {
  describeConstraints,
  type Field,
  type FieldErrors,
  fieldsOf,
  type FormValues,
} from "./schemaForm";

function Input({
  f,
  value,
  set,
}: {
  f: Field;
  value: string | boolean;
  set: (v: string | boolean) => void;
}) {
  const s = f.schema;
  const text = typeof value === "string" ? value : "";
  const onText = (e: Event) => set((e.target as HTMLInputElement).value);
  const id = `param-${f.name}`;
  switch (f.kind) {
    case "boolean":
      return (
        <input
          id={id}
          name={f.name}
          type="checkbox"
          checked={value === true}
          onChange={(e) => set((e.target as HTMLInputElement).checked)}
        />
      );
    case "enum":
      return (
        <select id={id} name={f.name} value={text} onChange={onText}>
          {!f.required && <option value="">(default)</option>}
          {(s.enum ?? []).map((v) => (
            <option key={JSON.stringify(v)} value={JSON.stringify(v)}>
              {String(v)}
            </option>
          ))}
        </select>
      );
    case "number":
    case "integer":
      // type=text keeps what was typed (a number input hides "abc" as ""), so the
      // check can say what is wrong; inputmode brings up a numeric keypad.
      return (
        <input
          id={id}
          name={f.name}
          inputMode={f.kind === "integer" ? "numeric" : "decimal"}
          value={text}
          onInput={onText}
          placeholder={s.default !== undefined ? String(s.default) : ""}
        />
      );
    case "array":
      return (
        <input id={id} name={f.name} value={text} onInput={onText} placeholder="a, b, c" />
      );
    case "json":
      return <textarea id={id} name={f.name} rows={3} value={text} onInput={onText} />;
    default:
      return (
        <input
          id={id}
          name={f.name}
          value={text}
          onInput={onText}
          maxLength={s.maxLength}
          placeholder={s.default !== undefined ? String(s.default) : ""}
        />
      );
  }
}

export function SchemaFields({
  schema,
  values,
  errors,
  onChange,
}: {
  schema: JsonSchema;
  values: FormValues;
  errors: FieldErrors;
  onChange: (v: FormValues) => void;
}) {
  const fields = fieldsOf(schema);
  if (!fields.length) return <p class="muted">This algorithm takes no parameters.</p>;
  return (
    <div class="schema-fields" data-testid="schema-fields">
      {fields.map((f) => {
        const hint = describeConstraints(f.schema);
        return (
          <div
            key={f.name}
            class={`field${errors[f.name] ? " invalid" : ""}`}
            data-testid={`field-${f.name}`}
            data-kind={f.kind}
          >
            <label for={`param-${f.name}`}>
              {f.schema.title || f.name}
              {f.required && <span class="required" title="required"> *</span>}
              <span class="muted small"> {f.kind === "json" ? "JSON" : f.kind}</span>
            </label>
            <Input f={f} value={values[f.name] ?? ""} set={(v) => onChange({ ...values, [f.name]: v })} />
            {(f.schema.description || hint) && (
              <div class="muted small">
                {f.schema.description}
                {f.schema.description && hint ? " · " : ""}
                {hint}
              </div>
            )}
            {errors[f.name] && (
              <div class="field-error" role="alert">
                {f.name} {errors[f.name]}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

// An algorithm's parameter JSON Schema -> form fields, and the form's text back into
// parameters with the same checks the server makes (type, enum, min/max, lengths,
// pattern, required), so most mistakes are marked before anything is sent. The server
// stays the authority: what this does not understand it passes on for the server to judge.
import type { JsonSchema } from "./api";

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum" | "array" | "json";

export interface Field {
  name: string;
  schema: JsonSchema;
  kind: FieldKind;
  required: boolean;
}

/** What the user typed, per field: text for inputs, a boolean for checkboxes. */
export type FormValues = Record<string, string | boolean>;
export type FieldErrors = Record<string, string>;

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null");
  return s.type;
}

function kindOf(s: JsonSchema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.length > 0) return "enum";
  const t = typeOf(s);
  if (t === "string" || t === "number" || t === "integer" || t === "boolean") return t;
  if (t === "array" && s.items && ["string", "number", "integer"].includes(typeOf(s.items) ?? ""))
    return "array";
  return "json"; // objects, nested arrays, anything else: edited as JSON
}

export function fieldsOf(schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    schema: s,
    kind: kindOf(s),
    required: required.has(name),
  }));
}

/** Form text for a parameter value (the schema default when there is none). */
function toText(f: Field, value: unknown): string | boolean {
  if (f.kind === "boolean") return value === true;
  if (value === undefined || value === null) return "";
  if (f.kind === "enum") return JSON.stringify(value);
  if (f.kind === "array") return Array.isArray(value) ? value.join(", ") : "";
  if (f.kind === "json") return JSON.stringify(value);
  return String(value);
}

export function initialValues(
  schema: JsonSchema,
  params: Record<string, unknown> = {},
): FormValues {
  const out: FormValues = {};
  for (const f of fieldsOf(schema)) out[f.name] = toText(f, params[f.name] ?? f.schema.default);
  return out;
}

function checkNumber(s: JsonSchema, text: string, integer: boolean): [number, string] {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v)) return [v, "must be a number"];
  if (integer && !Number.isInteger(v)) return [v, "must be a whole number"];
  if (s.minimum !== undefined && v < s.minimum) return [v, `must be at least ${s.minimum}`];
  if (s.maximum !== undefined && v > s.maximum) return [v, `must be at most ${s.maximum}`];
  if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum)
    return [v, `must be more than ${s.exclusiveMinimum}`];
  if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum)
    return [v, `must be less than ${s.exclusiveMaximum}`];
  if (s.multipleOf && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9)
    return [v, `must be a multiple of ${s.multipleOf}`];
  return [v, ""];
}

function checkString(s: JsonSchema, v: string): string {
  if (s.minLength !== undefined && v.length < s.minLength)
    return `needs at least ${s.minLength} characters`;
  if (s.maxLength !== undefined && v.length > s.maxLength)
    return `takes at most ${s.maxLength} characters`;
  if (s.pattern) {
    try {
      if (!new RegExp(s.pattern, "u").test(v)) return `must match ${s.pattern}`;
    } catch {
      /* a pattern JavaScript cannot read: the server checks it */
    }
  }
  return "";
}

function parseScalar(s: JsonSchema, text: string): [unknown, string] {
  const t = typeOf(s);
  if (t === "number" || t === "integer") return checkNumber(s, text, t === "integer");
  return [text, checkString(s, text)];
}

/** The parameters object of the form, and an error per field that fails its schema. */
export function parseValues(
  schema: JsonSchema,
  values: FormValues,
): { params: Record<string, unknown>; errors: FieldErrors } {
  const params: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const f of fieldsOf(schema)) {
    const raw = values[f.name];
    if (f.kind === "boolean") {
      params[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (text.trim() === "") {
      if (f.required) errors[f.name] = "is required";
      continue; // left out: the server fills in the default
    }
    let value: unknown;
    let error = "";
    if (f.kind === "enum") {
      value = JSON.parse(text);
    } else if (f.kind === "array") {
      const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
      const items = parts.map((p) => parseScalar(f.schema.items ?? {}, p));
      value = items.map(([v]) => v);
      const bad = items.findIndex(([, e]) => e);
      if (bad >= 0) error = `item ${bad + 1} (${parts[bad]}) ${items[bad][1]}`;
      else if (f.schema.minItems !== undefined && parts.length < f.schema.minItems)
        error = `needs at least ${f.schema.minItems} values`;
      else if (f.schema.maxItems !== undefined && parts.length > f.schema.maxItems)
        error = `takes at most ${f.schema.maxItems} values`;
    } else if (f.kind === "json") {
      try {
        value = JSON.parse(text);
      } catch {
        error = "is not valid JSON";
      }
    } else {
      [value, error] = parseScalar(f.schema, text);
    }
    if (error) errors[f.name] = error;
    else params[f.name] = value;
  }
  return { params, errors };
}

/** The field a server schema error names ("invalid parameter min_slices: ..."). */
export function fieldOfServerError(message: string): string | null {
  const m = message.match(/^invalid parameter ([^/:]+)[/:]/);
  return m && m[1] !== "(root)" ? m[1] : null;
}

export function describeConstraints(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(", ");
}

/**
 * zod -> JSON Schema for an OpenAPI 3.1 document.
 *
 * `z.toJSONSchema` names a schema that carries `.meta({ id })` in a `$defs`
 * block of each generated schema and points at it with `#/$defs/<id>`. Inside
 * an OpenAPI document that pointer resolves against the document root, where
 * no `$defs` exists, so every named schema is moved to
 * `components.schemas` and its references rewritten to point there.
 */
import { z } from "zod";

type Json = Record<string, unknown>;

const DEFS_REF = /^#\/\$defs\/(.+)$/;

export class SchemaComponents {
  /** `components.schemas` of the document. */
  readonly components: Record<string, Json> = {};

  /** Registers a named schema directly (e.g. Problem, referenced by every error response). */
  add(name: string, schema: z.ZodType, io: "input" | "output"): void {
    const json = this.of(schema, io);
    const ref =
      typeof json.$ref === "string"
        ? (DEFS_REF.exec(json.$ref) ?? /^#\/components\/schemas\/(.+)$/.exec(json.$ref))
        : null;
    if (!ref || ref[1] !== name) this.components[name] = json;
  }

  /** The JSON Schema of `schema`, with named parts moved to components. */
  of(schema: z.ZodType, io: "input" | "output"): Json {
    const raw = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
      reused: "inline",
    }) as Json;
    const { $schema: _dialect, $defs, ...root } = raw;
    const renamed = new Map<string, string>();
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) {
      renamed.set(id, this.place(id, def, io));
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value && typeof value === "object") {
        const out: Json = {};
        for (const [k, v] of Object.entries(value)) {
          const m = k === "$ref" && typeof v === "string" ? DEFS_REF.exec(v) : null;
          out[k] = m ? `#/components/schemas/${renamed.get(decodeURIComponent(m[1]!)) ?? m[1]}` : rewrite(v);
        }
        return out;
      }
      return value;
    };
    for (const name of new Set(renamed.values())) this.components[name] = rewrite(this.components[name]) as Json;
    return rewrite(root) as Json;
  }

  /**
   * Stores a named definition; the same name with a different body (the input
   * and output shapes of one schema differ, e.g. with defaults) gets an `Input` suffix.
   */
  private place(id: string, def: Json, io: "input" | "output"): string {
    const same = (name: string) => JSON.stringify(this.components[name]) === JSON.stringify(def);
    if (!(id in this.components) || same(id)) {
      this.components[id] = def;
      return id;
    }
    const alt = io === "input" ? `${id}Input` : `${id}Output`;
    this.components[alt] = def;
    return alt;
  }

  /**
   * An example of a value of `schema`: the schema's own example where it has one
   * (`.meta({ examples })` in schemas.ts), else one assembled from its parts.
   */
  example(schema: Json, depth = 0): unknown {
    if (depth > 12) return null;
    const s = this.resolve(schema);
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if (s.example !== undefined) return s.example;
    if (s.const !== undefined) return s.const;
    if (s.default !== undefined) return s.default;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    for (const key of ["anyOf", "oneOf"] as const) {
      const branches = s[key] as Json[] | undefined;
      if (branches?.length)
        return this.example(branches.find((b) => this.resolve(b).type !== "null") ?? branches[0]!, depth + 1);
    }
    if (Array.isArray(s.allOf))
      return Object.assign({}, ...s.allOf.map((part) => this.example(part as Json, depth + 1)));
    const type = Array.isArray(s.type) ? (s.type.find((t) => t !== "null") ?? "null") : s.type;
    switch (type) {
      case "object": {
        const props = (s.properties ?? {}) as Record<string, Json>;
        const out: Json = {};
        for (const [name, prop] of Object.entries(props)) out[name] = this.example(prop, depth + 1);
        if (!Object.keys(props).length && s.additionalProperties && typeof s.additionalProperties === "object") {
          out.key = this.example(s.additionalProperties as Json, depth + 1);
        }
        return out;
      }
      case "array":
        return s.items ? [this.example(s.items as Json, depth + 1)] : [];
      case "string":
        return stringExample(s);
      case "integer":
      case "number":
        return typeof s.minimum === "number"
          ? Math.max(s.minimum, Math.min(1, typeof s.maximum === "number" ? s.maximum : 1))
          : 1;
      case "boolean":
        return true;
      case "null":
        return null;
      default:
        return {};
    }
  }

  private resolve(schema: Json): Json {
    let s = schema;
    for (let i = 0; i < 8 && typeof s.$ref === "string"; i++) {
      const name = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1];
      const target = name ? this.components[name] : undefined;
      if (!target) break;
      const { $ref: _ref, ...rest } = s;
      s = { ...target, ...rest };
    }
    return s;
  }
}

function stringExample(s: Json): string {
  switch (s.format) {
    case "date-time":
      return "2026-05-01T12:00:00.000Z";
    case "uuid":
      return "4f7c1c1e-8d3a-4a52-9b7e-2f0d6c1a9e11";
    case "uri":
      return "https://cdn.example.com/p/item.jpg";
    case "email":
      return "alice@example.com";
    default:
      return "text";
  }
}

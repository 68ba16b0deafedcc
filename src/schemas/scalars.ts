/**
 * The scalar fields every entity schema is built from: whole numbers (money in
 * minor units, counts, versions) and ISO 8601 times.
 */
import { z } from "zod";

export const Int = z.number().int();

/** An ISO 8601 time as the service writes it (`new Date().toISOString()`). */
export const IsoTime = z.string().min(10).meta({ format: "date-time" });

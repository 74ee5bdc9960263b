/** Field shapes the DBProxy schema files share. */
import { z } from 'zod';

export const duration = (def: string, description: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h')
    .default(def)
    .meta({ description });

export const name = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes object name');

export const passThrough = (description: string) => z.record(z.string(), z.unknown()).meta({ description, 'x-kubernetes-preserve-unknown-fields': true });

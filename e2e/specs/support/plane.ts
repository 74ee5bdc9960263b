/** Specs run only where the plane can (global-setup.ts); elsewhere they are skipped, with the reason in their name. */
import { describe, inject } from 'vitest';
import { ON_KIND } from './env.js';

export const PLANE_UNAVAILABLE = inject('planeUnavailable');

export function describeOnPlane(name: string, fn: () => void): void {
  if (PLANE_UNAVAILABLE) describe.skip(`${name} (skipped: ${PLANE_UNAVAILABLE})`, fn);
  else describe(name, fn);
}

/** For specs that need the node agent itself (its postgres image, clients on the pod network): not on kind. */
export function describeOnLocalPlane(name: string, fn: () => void): void {
  if (ON_KIND) describe.skip(`${name} (skipped on kind: needs the local node agent's postgres image and pod network)`, fn);
  else describeOnPlane(name, fn);
}

// js-yaml ships no types and no @types package is installed; the deployment test needs only `load`.
declare module 'js-yaml' {
  export function load(text: string): unknown;
}

// Test-only declarations for self-tests/run/strict-fields.test.ts, in the forms the @kubernetes-models
// generators emit (Array<...>, index signatures for maps, `A & (B | C)` for oneOf, `| null`),
// plus a tuple, a readonly array and open members, each under its own key.
import type { IPart } from './part.js';

export interface IShapes {
  apiVersion: 'test.example/v1';
  kind: 'Shapes';
  required: { a: string; b?: number };
  optional?: { c?: string } | null;
  list?: Array<{ name: string; inner?: Array<{ x?: number }> }>;
  matrix?: Array<Array<{ v?: number }>>;
  readonlyList?: ReadonlyArray<{ r?: string }>;
  tuple?: [{ t?: string }];
  map?: { [key: string]: { known?: string } };
  mixed?: { fixed?: { f?: string }; [key: string]: unknown };
  part?: IPart;
  open?: any;
  openUnknown?: unknown;
  choice?: { one?: string; shared?: string } | { two?: string; three?: string; shared?: string };
  listOrObject?: Array<{ e?: string }> | { k?: string };
  oneOf?: { base?: string } & ({ left?: string } | { right?: string });
  both?: { p?: string } & { q?: string };
  branded?: { k?: string } & string;
  emptyTuple?: [];
  unionOfIntersections?: ({ a1?: string } & { a2?: string }) | { b1?: string };
  str?: string;
  strOrNum?: string | number;
  dashed?: { 'with-dash'?: { z?: string } };
}

/**
 * Bounds on what one config may hold. A real config is a few hundred nodes; the largest the API
 * allows (a rule for every port of TCP and UDP, 131,070 rules) is about 1.2 million. The bounds
 * make hostile input cheap to refuse: every check that walks a document stops at them.
 */

/** Large enough for 65,535 × 2 rules written out as YAML, small enough to refuse garbage quickly. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;
/** Collections inside collections. A config nests about 6 deep; kubectl output about 12. */
export const MAX_DEPTH = 64;
/** Keys in one mapping. Real mappings (labels, annotations, ConfigMap data) hold a few dozen. */
export const MAX_MAPPING_KEYS = 10_000;
/** Keys, values and list items of a whole document, YAML aliases counted as expanded. */
export const MAX_NODES = 2_000_000;

/**
 * Nodes the general YAML reader may hold at once (as parser events, about 110 bytes each, up to
 * two per node counted here). Plain block YAML streams and is not bound by it.
 */
export const MAX_GENERAL_YAML_NODES = 600_000;

// Thousands separators by hand: toLocaleString initializes ICU (~25 ms), and this module is
// loaded by every command that reads a config.
const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const LIMIT_MESSAGES = {
  depth: `nests deeper than the limit of ${MAX_DEPTH} levels`,
  keys: `has more than the limit of ${grouped(MAX_MAPPING_KEYS)} keys in one mapping`,
  nodes: `holds more than the limit of ${grouped(MAX_NODES)} nodes (keys, values and list items, YAML aliases expanded)`,
  generalYaml: `is YAML with up to more than ${grouped(MAX_GENERAL_YAML_NODES)} nodes outside plain block style (flow collections, anchors, tags, folded or escaped strings); the agent reads configs that large only as plain block YAML, as kubectl writes it, or as JSON`,
} as const;

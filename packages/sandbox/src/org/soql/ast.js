/** Syntax tree of the SOQL subset, before names are checked against metadata. */
export {};

// Package convertor holds the domain of the OpenAI API Convertor: the types
// every service shares (routes, model capabilities, errors), the rules
// every service applies to them the same way (pricing, roll-ups) and the
// interfaces its stores implement. It imports nothing of the project's own
// packages, so every adapter can depend on it without cycles.
package convertor

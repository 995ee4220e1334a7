#!/usr/bin/env node
// The kubectl plugin (`kubectl secrets-manager explain team-a/app-db`): kubectl runs the bin
// kubectl-secrets_manager with the words after its own name, the command line of main.ts.

await import('./main.ts');

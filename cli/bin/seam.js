#!/usr/bin/env node
// Committed launcher (dist/ does not exist at install time, so npm could not link it): run `npm run build` first.
import "../dist/main.js";

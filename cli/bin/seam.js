#!/usr/bin/env -S node --initial-old-space-size=128
// Committed launcher (dist/ does not exist at install time, so npm could not link it): run `npm run build` first.
import "../dist/main.js";

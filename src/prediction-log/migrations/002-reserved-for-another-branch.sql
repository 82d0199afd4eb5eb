-- Placeholder: version 002 belongs to a change on another branch, merged beside this one. The
-- merge replaces this file with that migration (the numbering must have no gaps).
SELECT 1;

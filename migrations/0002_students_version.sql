-- The table's version: a counter that every committed change moves on, in the same
-- transaction as the change, and an epoch drawn when the table is created, so a
-- dropped and re-created table never repeats an earlier version. A full read can then
-- tell cheaply whether the table is still as it was.
CREATE TABLE IF NOT EXISTS students_version (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    epoch CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    counter BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO students_version (id, epoch, counter)
    VALUES (1, REPLACE(UUID(), '-', ''), 0);

-- Our writers move the version through this procedure. It runs with the migration
-- account's rights, so the consumers' accounts need only EXECUTE, not UPDATE.
CREATE PROCEDURE IF NOT EXISTS students_changed() SQL SECURITY DEFINER MODIFIES SQL DATA
    UPDATE students_version SET counter = counter + 1 WHERE id = 1;

-- Changes made outside the system (by hand in SQL, by another program) move the
-- version too: one trigger per kind of change, each skipped by connections that move
-- it themselves (ours set @records_version_bumped). TRUNCATE fires no triggers: after
-- one, run CALL students_changed().
DELIMITER $$

CREATE TRIGGER IF NOT EXISTS students_inserted AFTER INSERT ON students FOR EACH ROW
BEGIN
    IF @records_version_bumped IS NULL THEN
        UPDATE students_version SET counter = counter + 1 WHERE id = 1;
    END IF;
END$$

CREATE TRIGGER IF NOT EXISTS students_updated AFTER UPDATE ON students FOR EACH ROW
BEGIN
    IF @records_version_bumped IS NULL THEN
        UPDATE students_version SET counter = counter + 1 WHERE id = 1;
    END IF;
END$$

CREATE TRIGGER IF NOT EXISTS students_deleted AFTER DELETE ON students FOR EACH ROW
BEGIN
    IF @records_version_bumped IS NULL THEN
        UPDATE students_version SET counter = counter + 1 WHERE id = 1;
    END IF;
END$$

DELIMITER ;

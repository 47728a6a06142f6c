import Sessions

/// Brings a database to ``SessionSchema/latestVersion``, one migration per transaction.
///
/// The version lives in `PRAGMA user_version` ("an integer at offset 60 in the database header",
/// <https://www.sqlite.org/pragma.html#pragma_user_version>), which changes in the same
/// transaction as the migration's statements, so a crash leaves either the old or the new schema.
struct SchemaMigrator {
    let migrations: [SchemaMigration]

    init(migrations: [SchemaMigration] = SessionSchema.migrations) {
        self.migrations = migrations
    }

    /// The schema version recorded in the file.
    static func version(of connection: SQLiteConnection) throws(SessionStoreError) -> Int32 {
        Int32(truncatingIfNeeded: try connection.integer("PRAGMA user_version", "reading the schema version") ?? 0)
    }

    /// Checks that this library may migrate and use the file, without changing it.
    ///
    /// - Returns: The file's current schema version.
    /// - Throws: ``SessionStoreError/Code/incompatibleSchema`` for a file from a newer library, or one
    ///   that holds tables of some other application.
    func checkCompatible(_ connection: SQLiteConnection) throws(SessionStoreError) -> Int32 {
        let latest = migrations.last?.version ?? 0
        let current = try Self.version(of: connection)
        if current > latest {
            throw SessionStoreError(
                .incompatibleSchema,
                "\(connection.path) has schema version \(current), newer than the \(latest) this library knows; "
                    + "upgrade the library instead of opening the file with an older one"
            )
        }
        if current == 0 {
            let objects = try connection.integer(
                "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                "inspecting the schema"
            ) ?? 0
            if objects > 0 {
                throw SessionStoreError(
                    .incompatibleSchema,
                    "\(connection.path) is an SQLite database of another application (\(objects) objects, no session schema version); refusing to change it"
                )
            }
        }
        return current
    }

    /// Applies every migration the file lacks.
    ///
    /// - Returns: The versions applied, empty when the file was current.
    /// - Throws: What ``checkCompatible(_:)`` throws, or a storage error when a migration fails (its
    ///   transaction is rolled back and the file stays at the previous version).
    @discardableResult
    func migrate(_ connection: SQLiteConnection) throws(SessionStoreError) -> [Int32] {
        var current = try checkCompatible(connection)
        var applied: [Int32] = []
        for migration in migrations where migration.version > current {
            // `PRAGMA foreign_keys` is a no-op inside a transaction, so it changes before BEGIN.
            let foreignKeys = try connection.integer("PRAGMA foreign_keys", "reading the foreign key setting") ?? 0
            if migration.rebuildsTables { try connection.execute("PRAGMA foreign_keys = OFF", "turning foreign keys off for \(migration.fileName)") }
            defer {
                if migration.rebuildsTables { try? connection.execute("PRAGMA foreign_keys = \(foreignKeys)", "restoring foreign keys") }
            }
            try connection.execute("BEGIN IMMEDIATE", "starting migration \(migration.fileName)")
            do {
                try connection.execute(migration.sql, "applying \(migration.fileName)")
                if migration.rebuildsTables { try Self.checkForeignKeys(connection, after: migration) }
                try connection.execute("PRAGMA user_version = \(migration.version)", "recording schema version \(migration.version)")
                try connection.execute("COMMIT", "committing migration \(migration.fileName)")
            } catch {
                if !connection.isAutocommit { try? connection.execute("ROLLBACK", "rolling back \(migration.fileName)") }
                throw error
            }
            current = migration.version
            applied.append(current)
        }
        return applied
    }

    /// Fails when rows reference rows that are not there, so a rebuild that lost rows rolls back.
    private static func checkForeignKeys(_ connection: SQLiteConnection, after migration: SchemaMigration) throws(SessionStoreError) {
        let violations = try connection.integer(
            "SELECT count(*) FROM pragma_foreign_key_check",
            "checking foreign keys after \(migration.fileName)"
        ) ?? 0
        guard violations == 0 else {
            throw SessionStoreError(
                .corruptDatabase,
                "\(connection.path): \(violations) rows reference missing sessions after \(migration.fileName); the migration was rolled back"
            )
        }
    }
}

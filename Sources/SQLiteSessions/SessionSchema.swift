/// One step of the schema: the SQL that takes a database from `version - 1` to `version`.
struct SchemaMigration: Sendable {
    /// The `PRAGMA user_version` after this step.
    let version: Int32
    /// The file in `schema/` that holds the same SQL.
    let fileName: String
    /// The statements, run in one transaction.
    let sql: String
    /// Whether the step rebuilds a table that others reference: it then runs with foreign keys
    /// off (a `DROP TABLE` would otherwise cascade into the referencing rows), and the keys are
    /// checked before it commits.
    var rebuildsTables = false
}

/// The schema this library reads and writes, as the list of migrations that build it.
enum SessionSchema {
    /// Every migration, in order. Versions are consecutive from 1.
    static let migrations: [SchemaMigration] = [version1, version2, version3, version4]

    /// The version a database has once every migration has run.
    static var latestVersion: Int32 { migrations.last?.version ?? 0 }
}

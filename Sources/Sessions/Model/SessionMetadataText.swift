import Foundation

/// How the database stores write session and message metadata: the text of a JSON object with
/// sorted keys, or NULL when there is none, so it reads well in a database shell
/// (`json_extract(metadata, '$.device')` in sqlite3, `metadata::jsonb ->> 'device'` in psql).
package enum SessionMetadataText {
    /// The stored text of `metadata`, or nil when it is empty.
    package static func encode(_ metadata: [String: String]) throws(SessionStoreError) -> String? {
        guard !metadata.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(metadata), as: UTF8.self)
        } catch {
            throw SessionStoreError(.invalidArgument, "session metadata cannot be encoded as JSON: \(error)")
        }
    }

    /// The metadata in stored `text` (nil or empty: none).
    ///
    /// - Parameter id: The row's id, named in the error.
    /// - Throws: ``SessionStoreError/Code/corruptDatabase`` when the text is not a JSON object of strings.
    package static func decode(_ text: String?, id: Int64) throws(SessionStoreError) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw SessionStoreError(.corruptDatabase, "session \(id) has metadata that is not a JSON object of strings: \(error)")
        }
    }
}

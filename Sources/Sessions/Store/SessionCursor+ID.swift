extension SessionCursor {
    /// A cursor positioned after the session with internal id `id`; for stores that page by id.
    public init(id: Int64) {
        self.init(rawValue: String(id))
    }

    /// The session id a store that pages by id put in `cursor`; zero when `cursor` is nil.
    ///
    /// - Throws: ``SessionStoreError/Code/invalidArgument`` when the cursor was not made by such a store.
    public static func decodeID(_ cursor: SessionCursor?) throws(SessionStoreError) -> Int64 {
        guard let cursor else { return 0 }
        guard let id = Int64(cursor.rawValue), id >= 0 else {
            throw SessionStoreError(.invalidArgument, "cursor \"\(cursor.rawValue.prefix(40))\" was not produced by this store")
        }
        return id
    }
}

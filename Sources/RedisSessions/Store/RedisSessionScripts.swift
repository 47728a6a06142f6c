/// The Lua scripts that make multi-key changes atomic in Redis.
///
/// Every change is a compare-and-set on the exact record text read before it: the store computes
/// the new record in Swift (with the same transitions every other store uses) and the script
/// applies it only if nobody changed the record meanwhile, updating the user's set in the same
/// step. On a mismatch the store reads again and retries.
///
/// User sets expire no earlier than their latest session (`PEXPIRETIME`, Redis 7+).
enum RedisSessionScripts {
    /// KEYS: session, user set, id counter. ARGV: record JSON without id, PXAT, hash hex, has-user flag.
    /// Returns the new session id.
    static let create = RedisScript("""
        local id = redis.call('INCR', KEYS[3])
        local record = cjson.decode(ARGV[1])
        record['id'] = id
        if not redis.call('SET', KEYS[1], cjson.encode(record), 'PXAT', ARGV[2], 'NX') then
          return redis.error_reply('a session with this token hash exists')
        end
        if ARGV[4] == '1' then
          redis.call('SADD', KEYS[2], ARGV[3])
          local at = redis.call('PEXPIRETIME', KEYS[2])
          if at == -1 or at < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[2], ARGV[2]) end
        end
        return id
        """)

    /// KEYS: session, old user set, new user set. ARGV: expected record, new record, PXAT, hash hex,
    /// old-has-user flag, new-has-user flag. Returns 1 when applied, 0 when the record changed.
    static let replace = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
        if ARGV[5] == '1' and (ARGV[6] ~= '1' or KEYS[2] ~= KEYS[3]) then
          redis.call('SREM', KEYS[2], ARGV[4])
        end
        if ARGV[6] == '1' then
          redis.call('SADD', KEYS[3], ARGV[4])
          local at = redis.call('PEXPIRETIME', KEYS[3])
          if at == -1 or at < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[3], ARGV[3]) end
        end
        return 1
        """)

    /// KEYS: session, user set. ARGV: expected record, hash hex, has-user flag.
    /// Returns 1 when deleted, 0 when the record changed.
    static let remove = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[2]) end
        return 1
        """)

    /// KEYS: old session, new session, user set. ARGV: expected record, new record, PXAT, old hash
    /// hex, new hash hex, has-user flag. Returns 1 when renamed, 0 when the record changed.
    static let rename = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if not redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3], 'NX') then
          return redis.error_reply('a session with the new token hash exists')
        end
        redis.call('DEL', KEYS[1])
        if ARGV[6] == '1' then
          redis.call('SREM', KEYS[3], ARGV[4])
          redis.call('SADD', KEYS[3], ARGV[5])
          local at = redis.call('PEXPIRETIME', KEYS[3])
          if at == -1 or at < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[3], ARGV[3]) end
        end
        return 1
        """)

    /// KEYS: user set. ARGV: session key prefix, user id. Deletes every session of the user and
    /// the set; returns the deleted records. (Touches keys it does not declare, so it needs a
    /// standalone server, not a cluster.)
    static let revokeUser = RedisScript("""
        local removed = {}
        for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local key = ARGV[1] .. hash
          local record = redis.call('GET', key)
          if record then
            local ok, decoded = pcall(cjson.decode, record)
            if ok and decoded['user_id'] == ARGV[2] then
              redis.call('DEL', key)
              removed[#removed + 1] = record
            end
          end
        end
        redis.call('DEL', KEYS[1])
        return removed
        """)
}

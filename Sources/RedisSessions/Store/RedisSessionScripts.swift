/// The Lua scripts that make multi-key changes atomic in Redis.
///
/// Every change is a compare-and-set on the exact record text read before it: the store computes
/// the new record in Swift (with the same transitions every other store uses) and the script
/// applies it only if nobody changed the record meanwhile, updating the user's set and the
/// message log in the same step. On a mismatch the store reads again and retries.
///
/// User sets and message logs expire no earlier than their session (`PEXPIRETIME`, Redis 7+).
/// Scripts that act on a user's sessions (eviction, revocation) derive keys from the set's
/// members, which a cluster forbids: use a standalone Redis or Valkey.
package enum RedisSessionScripts {
    /// KEYS: session, user set, id counter. ARGV: record JSON without id, PXAT, hash hex,
    /// has-user flag, session key prefix, messages key prefix, per-user limit (0 for none),
    /// eviction order (`created` or `seen`), now (ms).
    /// Returns `{id, evicted hash...}`.
    static let create = RedisScript("""
        local evicted = {}
        local limit = tonumber(ARGV[7])
        if ARGV[4] == '1' and limit > 0 then
          local now = tonumber(ARGV[9])
          local live = {}
          for _, hash in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            local text = redis.call('GET', ARGV[5] .. hash)
            if text then
              local ok, record = pcall(cjson.decode, text)
              if ok and record['expires_at'] > now then
                local order = ARGV[8] == 'seen' and record['last_seen_at'] or record['created_at']
                live[#live + 1] = {hash = hash, order = order, id = record['id']}
              end
            end
          end
          if #live >= limit then
            table.sort(live, function(a, b) if a.order == b.order then return a.id < b.id end return a.order < b.order end)
            for index = 1, #live - limit + 1 do
              local hash = live[index].hash
              redis.call('DEL', ARGV[5] .. hash, ARGV[6] .. hash)
              redis.call('SREM', KEYS[2], hash)
              evicted[#evicted + 1] = hash
            end
          end
        end
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
        local result = {id}
        for _, hash in ipairs(evicted) do result[#result + 1] = hash end
        return result
        """)

    /// KEYS: session, old user set, new user set, message log. ARGV: expected record, new record,
    /// PXAT, hash hex, old-has-user flag, new-has-user flag. Returns 1 when applied, 0 when the
    /// record changed.
    package static let replace = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
        if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('PEXPIREAT', KEYS[4], ARGV[3]) end
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

    /// KEYS: session, user set, message log. ARGV: expected record, hash hex, has-user flag.
    /// Returns 1 when deleted, 0 when the record changed.
    static let remove = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1], KEYS[3])
        if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[2]) end
        return 1
        """)

    /// KEYS: old session, new session, old user set, new user set, old message log, new message
    /// log. ARGV: expected record, new record, PXAT, old hash hex, new hash hex, old-has-user flag,
    /// new-has-user flag. Returns 1 when renamed, 0 when the record changed.
    static let rename = RedisScript("""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if not redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3], 'NX') then
          return redis.error_reply('a session with the new token hash exists')
        end
        redis.call('DEL', KEYS[1])
        if redis.call('EXISTS', KEYS[5]) == 1 then
          redis.call('RENAME', KEYS[5], KEYS[6])
          redis.call('PEXPIREAT', KEYS[6], ARGV[3])
        end
        if ARGV[6] == '1' then redis.call('SREM', KEYS[3], ARGV[4]) end
        if ARGV[7] == '1' then
          redis.call('SADD', KEYS[4], ARGV[5])
          local at = redis.call('PEXPIRETIME', KEYS[4])
          if at == -1 or at < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[4], ARGV[3]) end
        end
        return 1
        """)

    /// KEYS: user set. ARGV: session key prefix, user id, messages key prefix. Deletes every
    /// session of the user, their message logs, and the set; returns the deleted records.
    static let revokeUser = RedisScript("""
        local removed = {}
        for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local key = ARGV[1] .. hash
          local record = redis.call('GET', key)
          if record then
            local ok, decoded = pcall(cjson.decode, record)
            if ok and decoded['user_id'] == ARGV[2] then
              redis.call('DEL', key, ARGV[3] .. hash)
              removed[#removed + 1] = record
            end
          end
        end
        redis.call('DEL', KEYS[1])
        return removed
        """)

    /// KEYS: session, message log, message id counter. ARGV: message JSON without id, the most
    /// messages kept, PXAT. Returns the new message id, or nil when the session is gone.
    static let appendMessage = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        local id = redis.call('INCR', KEYS[3])
        local message = cjson.decode(ARGV[1])
        message['id'] = id
        redis.call('RPUSH', KEYS[2], cjson.encode(message))
        redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
        redis.call('PEXPIREAT', KEYS[2], ARGV[3])
        return id
        """)
}

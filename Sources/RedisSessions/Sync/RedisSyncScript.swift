/// The Lua script through which every host writes the shared state in Redis, so that Redis
/// applies the same rules as each host's file (``SQLiteSessions/SharedSession/supersedes(_:)``)
/// and publishes what it accepted to the change stream in the same atomic step.
///
/// One call applies a batch of entries, each seven arguments: `op, hash, user, a, b, c, d`.
///
/// | op | a | b | c | d |
/// |---|---|---|---|---|
/// | `put` | the session record (JSON) | its deadline, Unix ms (PXAT) | the token it was rotated from, or empty | the clock the write started from for a compare-and-set, or empty |
/// | `del` | until when the token stays refused (ms) | the change kind (deleted, revoked, rotated_out, evicted) | the session's id | |
/// | `gone` | | | | | (the session expired here: removed only if it has expired in Redis too; not published)
/// | `user` | the revocation point (ms) | until when it is kept (ms) | | |
/// | `msg` | the message (JSON) | the session's id | | |
///
/// Rules, the same as every host's:
/// - A token with a tombstone (`tombstone:<hash>`) is refused, and so is a session created
///   before its user's revocation point (`user_revoked:<user>`): revocation is never undone.
/// - Of two records of one session the one with the higher `clock` stays; with equal clocks, the
///   later `last_seen_at`. A losing `put` answers `stale` with the record that stays.
/// - A `put` with a compare-and-set clock answers `conflict` with the stored record when Redis
///   holds contents written after that clock: a write that had not seen another host's.
/// - Tombstones last until the session's absolute deadline, or `retention` after its deadline
///   when it has none; revocation points for `retention`. A retention of 0 (one host, not
///   sharing) keeps no tombstones.
///
/// Every entry that changed something is appended to the stream (`XADD … MAXLEN ~ cap`) with a
/// sequence number from one counter, so a host that finds a gap knows it missed entries, and
/// the writing host's name; a `put` written by compare-and-set is flagged `cas`. The batch's
/// replication marker is set in the same step.
///
/// KEYS: stream, sequence counter, replication marker. ARGV: key prefix, origin host name,
/// marker value (empty for none), stream cap (0: publish nothing), now (ms), messages kept per
/// session, retention (ms), then the entries.
///
/// Keys other than KEYS are derived from the prefix, which a cluster forbids: use a standalone
/// Redis or Valkey (with replicas, if you like: see `WAIT` in ``RedisReplicator/Configuration``).
enum RedisSyncScript {
    /// Arguments before the first entry.
    static let headerCount = 7
    /// Arguments per entry.
    static let entryCount = 7

    static let script = RedisScript("""
        local P, origin = ARGV[1], ARGV[2]
        local cap, now, keep, retention = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
        local function ms(x) return string.format('%.0f', x) end
        local function decode(text)
          if not text then return nil end
          local ok, record = pcall(cjson.decode, text)
          if ok and type(record) == 'table' then return record end
          return nil
        end
        local function clock(record) local c = record and record['clock'] return type(c) == 'string' and c or '' end
        local function user(record) local u = record and record['user_id'] return type(u) == 'string' and u or nil end
        local function wins(new, old)
          if clock(new) ~= clock(old) then return clock(new) > clock(old) end
          return (tonumber(new['last_seen_at']) or 0) > (tonumber(old['last_seen_at']) or 0)
        end
        local function publish(op, h, u, a, b, id, flag)
          if cap <= 0 then return end
          local q = redis.call('INCR', KEYS[2])
          redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'q', q, 'op', op, 'h', h, 'u', u, 'a', a, 'b', b, 'i', id, 'f', flag or '', 'o', origin)
        end
        local function tomb_until(record)
          local absolute = record and tonumber(record['absolute_expires_at'])
          if absolute then return math.max(absolute, now) end
          local expires = record and tonumber(record['expires_at']) or now
          return math.max(expires, now) + retention
        end
        local function bury(h, untilms)
          if retention <= 0 then return end
          local key = P .. 'tombstone:' .. h
          local current = tonumber(redis.call('GET', key) or '0')
          if untilms > now and untilms > current then redis.call('SET', key, ms(untilms), 'PXAT', ms(untilms)) end
        end
        local function drop(h, record)
          redis.call('DEL', P .. 'session:' .. h, P .. 'messages:' .. h)
          if user(record) then redis.call('SREM', P .. 'user_sessions:' .. user(record), h) end
        end
        local function revoked(record)
          local u = user(record)
          if not u then return false end
          local point = tonumber(redis.call('GET', P .. 'user_revoked:' .. u) or nil)
          return point ~= nil and (tonumber(record['created_at']) or 0) < point
        end

        local function put(h, u, text, pxat, prev, cas)
          local record = decode(text)
          if not record then return {'invalid', 'not a session record'} end
          if redis.call('EXISTS', P .. 'tombstone:' .. h) == 1 then return {'refused', 'deleted'} end
          if prev ~= '' and redis.call('EXISTS', P .. 'tombstone:' .. prev) == 1 then return {'refused', 'deleted'} end
          if revoked(record) then return {'refused', 'revoked'} end
          local key = P .. 'session:' .. h
          local current_text = redis.call('GET', key)
          local current = decode(current_text)
          local old_text = prev ~= '' and redis.call('GET', P .. 'session:' .. prev) or nil
          local old = decode(old_text)
          if cas ~= '' then
            local base = current or old
            if base and clock(base) > cas then return {'conflict', current_text or old_text} end
          end
          local overwrote = nil
          if current then
            if current_text == text then return {'unchanged'} end
            if not wins(record, current) then return {'stale', current_text} end
            local base_clock = type(record['base_clock']) == 'string' and record['base_clock'] or ''
            if clock(current) ~= clock(record) and clock(current) > base_clock then overwrote = clock(current) end
            if user(current) and user(current) ~= u then redis.call('SREM', P .. 'user_sessions:' .. user(current), h) end
          end
          if prev ~= '' then
            bury(prev, tomb_until(old or record))
            if old then
              redis.call('DEL', P .. 'session:' .. prev)
              if user(old) then redis.call('SREM', P .. 'user_sessions:' .. user(old), prev) end
            end
            if redis.call('EXISTS', P .. 'messages:' .. prev) == 1 then
              redis.call('RENAME', P .. 'messages:' .. prev, P .. 'messages:' .. h)
            end
          end
          redis.call('SET', key, text, 'PXAT', pxat)
          if u ~= '' then
            local set = P .. 'user_sessions:' .. u
            redis.call('SADD', set, h)
            local at = redis.call('PEXPIRETIME', set)
            if at == -1 or at < tonumber(pxat) then redis.call('PEXPIREAT', set, pxat) end
          end
          if redis.call('EXISTS', P .. 'messages:' .. h) == 1 then redis.call('PEXPIREAT', P .. 'messages:' .. h, pxat) end
          publish('put', h, u, text, prev, '', cas ~= '' and 'cas' or '')
          if overwrote then return {'overwrote', overwrote} end
          return {'applied'}
        end

        local function remove(h, u, untilms, kind, id)
          local text = redis.call('GET', P .. 'session:' .. h)
          local known = redis.call('EXISTS', P .. 'tombstone:' .. h) == 1
          bury(h, untilms)
          if text then
            drop(h, decode(text))
          else
            redis.call('DEL', P .. 'messages:' .. h)
            if u ~= '' then redis.call('SREM', P .. 'user_sessions:' .. u, h) end
          end
          if text or not known then
            publish('del', h, u, ms(untilms), kind, id)
            return {'applied'}
          end
          return {'unchanged'}
        end

        local function gone(h)
          local text = redis.call('GET', P .. 'session:' .. h)
          local record = decode(text)
          if record and (tonumber(record['expires_at']) or 0) <= now then
            drop(h, record)
            return {'applied'}
          end
          return {'unchanged'}
        end

        local function revoke(u, point, untilms)
          local key = P .. 'user_revoked:' .. u
          local current = tonumber(redis.call('GET', key) or '0')
          local moved = point > current
          if moved then redis.call('SET', key, ms(point), 'PXAT', ms(math.max(untilms, now + 1))) end
          local set = P .. 'user_sessions:' .. u
          local removed = 0
          for _, h in ipairs(redis.call('SMEMBERS', set)) do
            local text = redis.call('GET', P .. 'session:' .. h)
            local record = decode(text)
            if record and (tonumber(record['created_at']) or 0) < math.max(point, current) then
              bury(h, tomb_until(record))
              drop(h, record)
              removed = removed + 1
            elseif not text then
              redis.call('SREM', set, h)
            end
          end
          if moved or removed > 0 then
            publish('user', '', u, ms(point), ms(untilms), '')
            return {'applied'}
          end
          return {'unchanged'}
        end

        local function message(h, text, id)
          local key = P .. 'session:' .. h
          if redis.call('EXISTS', key) == 0 then return {'missing'} end
          local log = P .. 'messages:' .. h
          if redis.call('LPOS', log, text) then return {'unchanged'} end
          redis.call('RPUSH', log, text)
          redis.call('LTRIM', log, -keep, -1)
          local at = redis.call('PEXPIRETIME', key)
          if at > 0 then redis.call('PEXPIREAT', log, at) end
          publish('msg', h, '', text, '', id)
          return {'applied'}
        end

        local results = {}
        local i = 8
        while i + 6 <= #ARGV do
          local op, h, u, a, b, c, d = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
          local result
          if op == 'put' then result = put(h, u, a, b, c, d)
          elseif op == 'del' then result = remove(h, u, tonumber(a), b, c)
          elseif op == 'gone' then result = gone(h)
          elseif op == 'user' then result = revoke(u, tonumber(a), tonumber(b))
          elseif op == 'msg' then result = message(h, a, b)
          else result = {'invalid', 'unknown operation ' .. op} end
          results[#results + 1] = result
          i = i + 7
        end
        if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
        return results
        """)
}

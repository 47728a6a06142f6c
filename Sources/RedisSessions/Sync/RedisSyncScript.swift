/// The Lua script through which every host writes the shared state in Redis, so that Redis
/// applies the same rules as each host's file (`SharedSession.supersedes(_:)`)
/// and publishes what it accepted to the change stream in the same atomic step.
///
/// One call applies a batch of entries, each seven arguments: `op, hash, user, a, b, c, d`.
///
/// | op | a | b | c | d |
/// |---|---|---|---|---|
/// | `put` | the session record (JSON) | its deadline, Unix ms (PXAT) | the token it was rotated from, or empty | the clock the write started from for a compare-and-set, or empty |
/// | `del` | until when the token stays refused (ms) | the change kind (deleted, revoked, rotated_out, evicted) | the session's id | |
/// | `gone` | | | | | (the session expired here: removed only if it has expired in Redis too; not published)
/// | `user` | the revocation point (a clock reading, 19 digits) | until when it is kept (ms) | | |
/// | `msg` | the message (JSON) | the session's id | | |
///
/// Rules, the same as every host's:
/// - A token with a tombstone (`tombstone:<hash>`) is refused, and so is a session created
///   before its user's revocation point (`user_revoked:<user>`, a clock reading compared with
///   the session's creation reading): revocation is never undone. A rotation leaves a link from
///   the old token to the new (`successor:<hash>`), so a logout of the old token that arrives
///   after the rotation ends the new one too, and a message for the old token reaches the new.
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
/// marker value (empty for none), stream cap (0: publish nothing), the sending host's time (ms;
/// used only when not publishing: hosts that share sessions go by Redis's own `TIME`), messages
/// kept per session, retention (ms), then the entries.
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
        local cap, keep, retention = tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7])
        -- Redis's clock, not the sending host's, judges expiry in Redis when hosts share it; one
        -- host replicating alone is the authority on its own sessions.
        local now = tonumber(ARGV[5])
        if cap > 0 then
          local time = redis.call('TIME')
          now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end
        local zero = '0000000000000000000'
        local function ms(x) return string.format('%.0f', x) end
        local function pad(digits) return string.rep('0', 19 - #digits) .. digits end
        local function decode(text)
          if not text then return nil end
          local ok, record = pcall(cjson.decode, text)
          if ok and type(record) == 'table' then return record end
          return nil
        end
        local function clock(record) local c = record and record['clock'] return type(c) == 'string' and c or zero end
        local function user(record) local u = record and record['user_id'] return type(u) == 'string' and u or nil end
        -- The id as digits, read from the text: cjson would round it (ids are near 2^61).
        local function id(text) return text and string.match(text, '"id":(%d+)') or '' end
        local function wins(new, old)
          if clock(new) ~= clock(old) then return clock(new) > clock(old) end
          return (tonumber(new['last_seen_at']) or 0) > (tonumber(old['last_seen_at']) or 0)
        end
        -- Whether the session was created before the clock reading `point` (19 digits): its id
        -- is its creation reading, or, for an id from before readings, its creation time.
        local function created_before(text, record, point)
          local digits = id(text)
          if #digits >= 11 then return pad(digits) < point end
          return (tonumber(record['created_at']) or 0) < math.floor(tonumber(point) / 1048576)
        end
        local function publish(op, h, u, a, b, sid, flag)
          if cap <= 0 then return end
          local q = redis.call('INCR', KEYS[2])
          redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'q', q, 'op', op, 'h', h, 'u', u, 'a', a, 'b', b, 'i', sid, 'f', flag or '', 'o', origin)
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
        local function revoked(text, record)
          local u = user(record)
          if not u then return false end
          local point = redis.call('GET', P .. 'user_revoked:' .. u)
          return point ~= false and point ~= nil and created_before(text, record, point)
        end
        -- The token a rotated token was replaced by, followed to the end (bounded).
        local function successor(h)
          local hops = 0
          local next = redis.call('GET', P .. 'successor:' .. h)
          while next and hops < 16 do
            h = next
            next = redis.call('GET', P .. 'successor:' .. h)
            hops = hops + 1
          end
          return h
        end

        local function put(h, u, text, pxat, prev, cas)
          local record = decode(text)
          if not record then return {'invalid', 'not a session record'} end
          if redis.call('EXISTS', P .. 'tombstone:' .. h) == 1 then return {'refused', 'deleted'} end
          -- The old token of a rotation is dead: that is this rotation only if it led here.
          if prev ~= '' and redis.call('EXISTS', P .. 'tombstone:' .. prev) == 1 and redis.call('GET', P .. 'successor:' .. prev) ~= h then
            return {'refused', 'deleted'}
          end
          if revoked(text, record) then return {'refused', 'revoked'} end
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
            local base_clock = type(record['base_clock']) == 'string' and record['base_clock'] or zero
            if clock(current) ~= clock(record) and clock(current) > base_clock then overwrote = clock(current) end
            if user(current) and user(current) ~= u then redis.call('SREM', P .. 'user_sessions:' .. user(current), h) end
          end
          if prev ~= '' then
            local untilms = tomb_until(old or record)
            bury(prev, untilms)
            if retention > 0 then redis.call('SET', P .. 'successor:' .. prev, h, 'PXAT', ms(math.max(untilms, now + 1))) end
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

        local function remove(h, u, untilms, kind, sid)
          local text = redis.call('GET', P .. 'session:' .. h)
          local known = redis.call('EXISTS', P .. 'tombstone:' .. h) == 1
          bury(h, untilms)
          if text then
            drop(h, decode(text))
          else
            redis.call('DEL', P .. 'messages:' .. h)
            if u ~= '' then redis.call('SREM', P .. 'user_sessions:' .. u, h) end
          end
          local changed = text or not known
          if changed then publish('del', h, u, ms(untilms), kind, sid) end
          -- A logout of a token that was rotated meanwhile ends the rotated session too.
          if kind ~= 'rotated_out' then
            local next = redis.call('GET', P .. 'successor:' .. h)
            local hops = 0
            while next and hops < 16 do
              local next_text = redis.call('GET', P .. 'session:' .. next)
              if next_text then
                local next_record = decode(next_text)
                local next_until = math.max(untilms, tomb_until(next_record))
                bury(next, next_until)
                drop(next, next_record)
                publish('del', next, user(next_record) or '', ms(next_until), kind, id(next_text))
                changed = true
              end
              next = redis.call('GET', P .. 'successor:' .. next)
              hops = hops + 1
            end
          end
          if changed then return {'applied'} end
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
          local current = redis.call('GET', key) or zero
          local moved = point > current
          if moved then
            redis.call('SET', key, point, 'PXAT', ms(math.max(untilms, now + 1)))
          else
            point = current
          end
          local set = P .. 'user_sessions:' .. u
          local removed = 0
          for _, h in ipairs(redis.call('SMEMBERS', set)) do
            local text = redis.call('GET', P .. 'session:' .. h)
            local record = decode(text)
            if record and created_before(text, record, point) then
              bury(h, tomb_until(record))
              drop(h, record)
              removed = removed + 1
            elseif not text then
              redis.call('SREM', set, h)
            end
          end
          if moved or removed > 0 then
            publish('user', '', u, point, ms(untilms), '')
            return {'applied'}
          end
          return {'unchanged'}
        end

        local function message(h, text, sid)
          -- To the session's current token: it may have been rotated since the message was written.
          if redis.call('EXISTS', P .. 'session:' .. h) == 0 then h = successor(h) end
          local key = P .. 'session:' .. h
          if redis.call('EXISTS', key) == 0 then return {'missing'} end
          local log = P .. 'messages:' .. h
          if redis.call('LPOS', log, text) then return {'unchanged'} end
          redis.call('RPUSH', log, text)
          redis.call('LTRIM', log, -keep, -1)
          local at = redis.call('PEXPIRETIME', key)
          if at > 0 then redis.call('PEXPIREAT', log, at) end
          publish('msg', h, '', text, '', sid)
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
          elseif op == 'user' then result = revoke(u, a, tonumber(b))
          elseif op == 'msg' then result = message(h, a, b)
          else result = {'invalid', 'unknown operation ' .. op} end
          results[#results + 1] = result
          i = i + 7
        end
        if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
        return results
        """)
}

/// The stable sort behind the `order(a, b)` hook, written in Lua so the comparator is
/// called Lua-to-Lua (one protected call from Swift for the whole sort, not one per
/// comparison): insertion sort on runs of 12, then bottom-up merges — O(n log n)
/// comparisons, equal jobs keep the order `select` gave them.
///
/// A comparator that is not a strict order (`>=` instead of `>`, or one that contradicts
/// itself) is detected afterwards in n more calls: `lt(x, x)` must be false and no
/// neighbour may still belong before its predecessor. The error names the hook's location
/// and two of the jobs involved.
enum LuaStrategySort {
    /// A chunk returning `function(list, n, lt, where) → sorted list` (the same or another table).
    static let source = #"""
    local rawget, format, error = rawget, string.format, error

    local function describe(job)
      local name = rawget(job, "vm_name")
      return format("job %s (%s)", tostring(rawget(job, "id")), name or "?")
    end

    return function(a, n, lt, where)
      local RUN = 12
      for lo = 1, n, RUN do
        local hi = lo + RUN - 1
        if hi > n then hi = n end
        for i = lo + 1, hi do
          local x = a[i]
          local j = i - 1
          while j >= lo and lt(x, a[j]) do
            a[j + 1] = a[j]
            j = j - 1
          end
          a[j + 1] = x
        end
      end
      local b = {}
      local width = RUN
      while width < n do
        local i = 1
        while i <= n do
          local mid = i + width
          if mid > n then
            for k = i, n do b[k] = a[k] end
          else
            local hi = mid + width
            if hi > n + 1 then hi = n + 1 end
            local l, r, k = i, mid, i
            local x, y = a[l], a[r]
            while true do
              if lt(y, x) then
                b[k] = y
                k = k + 1
                r = r + 1
                if r == hi then
                  for m = l, mid - 1 do b[k] = a[m]; k = k + 1 end
                  break
                end
                y = a[r]
              else
                b[k] = x
                k = k + 1
                l = l + 1
                if l == mid then
                  for m = r, hi - 1 do b[k] = a[m]; k = k + 1 end
                  break
                end
                x = a[l]
              end
            end
          end
          i = i + 2 * width
        end
        a, b = b, a
        width = width * 2
      end
      if n > 0 and lt(a[1], a[1]) then
        error(format("the order hook (%s) is not a strict ordering: order(a, a) is true for %s; "
          .. "it must answer false for equal jobs (use > or <, not >= or <=)", where, describe(a[1])), 0)
      end
      for i = 1, n - 1 do
        if lt(a[i + 1], a[i]) then
          error(format("the order hook (%s) contradicts itself: after sorting, it still puts %s before %s, "
            .. "which came first; a comparator must never answer true for both order(a, b) and order(b, a), "
            .. "and its answers must be transitive", where, describe(a[i + 1]), describe(a[i])), 0)
        end
      end
      return a
    end
    """#
}

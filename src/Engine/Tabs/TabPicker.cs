namespace LeanProxy.Engine.Tabs;

/// <summary>
/// Which tab takes new work (the pool's policy, apart from its lifecycle): a call goes to the live tab with the least
/// outstanding work, preferring tabs that are not stalled; a connection to the live tab with the fewest connections.
/// </summary>
internal static class TabPicker
{
    /// <summary>The tab for a call; null when no tab is live. <paramref name="exclude"/> is never picked.</summary>
    public static Tab? ForCall(ReadOnlySpan<Tab?> tabs, Tab? exclude = null)
    {
        Tab? best = null;
        foreach (var tab in tabs)
        {
            if (tab is null || tab == exclude || tab.IsDead)
            {
                continue;
            }

            if (best is null || Better(tab, best))
            {
                best = tab;
            }
        }

        return best;
    }

    /// <summary>A tab that answers beats a stalled one; then the least outstanding work wins.</summary>
    private static bool Better(Tab tab, Tab best) =>
        tab.IsStalled != best.IsStalled ? !tab.IsStalled : tab.Outstanding < best.Outstanding;

    /// <summary>The live tab a new connection should live on: the fewest connections, then the least work; null when none is live.</summary>
    public static Tab? ForConnection(ReadOnlySpan<Tab?> tabs)
    {
        Tab? best = null;
        foreach (var tab in tabs)
        {
            if (tab is null || tab.IsDead)
            {
                continue;
            }

            if (best is null || tab.ConnectionCount < best.ConnectionCount
                || (tab.ConnectionCount == best.ConnectionCount && tab.Outstanding < best.Outstanding))
            {
                best = tab;
            }
        }

        return best;
    }
}

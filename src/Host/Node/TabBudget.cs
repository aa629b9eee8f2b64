namespace LeanProxy.Host.Node;

/// <summary>
/// The node's tabs, counted under one lock: the tabs of running app hosts (given by the caller) plus those of starts in
/// progress (reserved here), so that two apps starting at once cannot both pass the budget.
/// </summary>
internal sealed class TabBudget(int max)
{
    private readonly Lock _lock = new();
    private int _reserved;

    public int Max => max;

    /// <summary>Reserves <paramref name="tabs"/> for a start when <paramref name="running"/> + reserved + them fit.</summary>
    public bool TryReserve(int tabs, int running)
    {
        lock (_lock)
        {
            if (running + _reserved + tabs > max)
            {
                return false;
            }

            _reserved += tabs;
            return true;
        }
    }

    /// <summary>The start ended (its host now counts as running, or it failed).</summary>
    public void EndReservation(int tabs)
    {
        lock (_lock)
        {
            _reserved -= tabs;
        }
    }
}

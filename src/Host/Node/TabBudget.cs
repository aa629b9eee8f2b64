using LeanProxy.Engine.Apps;

namespace LeanProxy.Host.Node;

/// <summary>
/// The node's tabs (--max-tabs), counted under one lock: what each app host holds — its first tabs, charged before it
/// starts, and the ones its pool adds while its queue grows — so that two apps starting or growing at once cannot both
/// pass the budget. Every app host gives back all it holds once, when it stops being routed to.
/// </summary>
internal sealed class TabBudget(int max) : ITabBudget
{
    private readonly Lock _lock = new();
    private int _inUse;

    public int Max => max;

    /// <summary>Tabs held by app hosts now (it may pass <see cref="Max"/> for a moment while a new version replaces an old one).</summary>
    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    public bool TryTake(int tabs)
    {
        lock (_lock)
        {
            if (_inUse + tabs > max)
            {
                return false;
            }

            _inUse += tabs;
            return true;
        }
    }

    /// <summary>Takes tabs even past the budget: a new version replacing a running one (the old gives its tabs back right after).</summary>
    public void Take(int tabs)
    {
        lock (_lock)
        {
            _inUse += tabs;
        }
    }

    public void Give(int tabs)
    {
        lock (_lock)
        {
            _inUse = Math.Max(0, _inUse - tabs);
        }
    }
}

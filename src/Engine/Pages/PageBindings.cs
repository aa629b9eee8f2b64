using System.Collections.Frozen;
using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Pages;

/// <summary>Handles one page → host call of a binding; runs on the CDP receive loop, so it must not block.</summary>
internal delegate void PageBindingHandler(Tab tab, ReadOnlySpan<byte> payload);

/// <summary>
/// The bindings a page of an app may call (<c>Runtime.addBinding</c>), each routed by name to its handler. Every tab
/// gets them all when it opens, so a new binding (a KV namespace, say) is one more entry here and no change to the tab.
/// The handler learns which tab called from the tab itself, never from the payload.
/// </summary>
internal sealed class PageBindings
{
    /// <summary>Messages of the page protocol that finish after their batch call returned (see Runtime/channel.js).</summary>
    public const string Messages = "__lpDone";

    private readonly FrozenDictionary<string, PageBindingHandler> _handlers;

    private PageBindings(Dictionary<string, PageBindingHandler> handlers) => _handlers = handlers.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The page protocol's own binding, plus the given ones.</summary>
    public static PageBindings Create(IReadOnlyDictionary<string, PageBindingHandler>? extra = null)
    {
        var handlers = new Dictionary<string, PageBindingHandler>(StringComparer.Ordinal)
        {
            [Messages] = static (tab, payload) => tab.Router.DeliverPayload(payload),
        };
        foreach (var (name, handler) in extra ?? new Dictionary<string, PageBindingHandler>())
        {
            if (!handlers.TryAdd(name, handler))
            {
                throw new ArgumentException($"The binding {name} is registered twice.");
            }
        }

        return new PageBindings(handlers);
    }

    public IEnumerable<string> Names => _handlers.Keys;

    /// <summary>Calls the handler of <paramref name="name"/>; false when no such binding is registered.</summary>
    public bool Invoke(string name, Tab tab, ReadOnlySpan<byte> payload)
    {
        if (!_handlers.TryGetValue(name, out var handler))
        {
            return false;
        }

        handler(tab, payload);
        return true;
    }
}

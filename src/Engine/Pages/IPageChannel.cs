using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Pages;

/// <summary>How a batch call ended.</summary>
internal enum BatchOutcome
{
    /// <summary>The page took every item; what it answered within the call went to the tab's router.</summary>
    Answered,

    /// <summary>The call died in the page (an exception, or Runtime.terminateExecution stopped a handler).</summary>
    Stopped,

    /// <summary>The browser refused or could not answer the call (a protocol error, an unreadable reply).</summary>
    Rejected,

    /// <summary>The tab or the browser is gone.</summary>
    Lost,
}

/// <summary>
/// The page side of one tab, as the engine's policies see it: send a batch, stop a running handler, close, notice the
/// end. Implemented over CDP (<see cref="CdpPage"/>) and by a scripted fake page in the tests.
/// </summary>
internal interface IPageChannel
{
    /// <summary>
    /// Sends one batch (<c>__lp.d([...])</c>). Messages the page answers within the call reach the tab's
    /// <see cref="PageMessageRouter"/> before the returned task completes.
    /// </summary>
    ValueTask<BatchOutcome> SendBatchAsync(IReadOnlyList<Calls.TabItem> batch);

    /// <summary>Stops the script running in the page (Runtime.terminateExecution); best effort.</summary>
    Task TerminateAsync();

    /// <summary>Closes the tab; best effort.</summary>
    Task CloseAsync();

    /// <summary>Completes with the reason when the page is gone (crash, close, browser gone).</summary>
    Task<string> Ended { get; }

    bool IsEnded { get; }
}

/// <summary>Opens the pages of an app: the app is loaded and ready when the returned task completes.</summary>
internal interface IPageFactory
{
    /// <summary>Opens a page for <paramref name="tab"/>; throws <see cref="Apps.AppLoadException"/> (or
    /// <see cref="Apps.MissingExportException"/>) when the app does not load.</summary>
    Task<IPageChannel> OpenAsync(Tab tab, CancellationToken cancellationToken);

    /// <summary>A fresh browser context for the app's pages (after a relaunch the old one is gone).</summary>
    Task ResetContextAsync(CancellationToken cancellationToken);

    /// <summary>Disposes the app's browser context; best effort.</summary>
    Task DisposeContextAsync();

    /// <summary>False while no page can be opened (the browser is gone and not yet relaunched).</summary>
    bool IsAvailable { get; }
}

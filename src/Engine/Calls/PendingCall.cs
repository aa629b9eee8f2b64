namespace LeanProxy.Engine.Calls;

/// <summary>
/// An item the page answers (an HTTP request or a datagram): tracked while in the page, bound by a deadline, completed
/// exactly once (the page's answer, or a failure the engine decides).
/// </summary>
internal abstract class PendingCall(int id, long deadline) : TabItem(id)
{
    private int _completed;

    /// <summary>Clock time (ms, <see cref="Apps.AppScope.Now"/>) after which the call fails (504 for a request; a datagram's reply is dropped).</summary>
    public long Deadline { get; } = deadline;

    /// <summary>How many times the call was sent to a tab.</summary>
    public int Attempts { get; set; }

    /// <summary>The tab that took it last (for the live log's request lines).</summary>
    public int TabIndex { get; set; } = -1;

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Within its deadline it goes again after a stopped batch (at most <see cref="Tabs.BatchSender.MaxAttempts"/> times).</summary>
    public override bool IsRepeatable => true;

    /// <summary>Whether it may go to another tab after its tab died with it in flight.</summary>
    public abstract bool MayRetry { get; }

    /// <summary>Ends the call without the page's answer: an HTTP status for a request; a datagram gets no reply.</summary>
    public abstract bool TryFail(int status, string message);

    /// <summary>Claims the one completion; false when the call was completed already.</summary>
    protected bool TryMarkCompleted() => Interlocked.Exchange(ref _completed, 1) == 0;
}

using Microsoft.Extensions.Logging;

namespace LeanProxy.Listener;

/// <summary>
/// The one way to start work nobody awaits: its failure is observed and logged with what the work was, never lost
/// (an unobserved task exception says nothing, and a failure that ends a loop silently is the worst kind).
/// A cancellation is the work's own business and is not logged.
/// </summary>
public static class FireAndForget
{
    /// <summary>Observes <paramref name="task"/>: if it faults, logs the exception as the failure of <paramref name="what"/>.</summary>
    public static void Run(Task task, ILogger logger, string what)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        if (task.IsCompleted)
        {
            Observe(task, logger, what);
            return;
        }

        task.ContinueWith(
            static (finished, state) =>
            {
                var (logger, what) = ((ILogger, string))state!;
                Observe(finished, logger, what);
            },
            (logger, what),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion,
            TaskScheduler.Default);
    }

    private static void Observe(Task task, ILogger logger, string what)
    {
        if (task.Exception is { } failure)
        {
            ListenerLog.BackgroundFailed(logger, what, failure.InnerExceptions.Count == 1 ? failure.InnerException! : failure);
        }
    }
}

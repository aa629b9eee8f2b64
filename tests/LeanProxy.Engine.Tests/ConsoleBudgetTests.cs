using LeanProxy.Engine.Pages;

namespace LeanProxy.Engine.Tests;

/// <summary>An app's console budget on a clock the test moves: a burst, then the rate; what was dropped is said once a second.</summary>
public sealed class ConsoleBudgetTests
{
    [Test]
    public void ABurstPassesThenTheRateAndTheDroppedLinesAreCountedOnceASecond()
    {
        long now = 0;
        var budget = new ConsoleBudget(() => now);
        Assert.That(Enumerable.Range(0, ConsoleBudget.Burst).All(_ => budget.TryTake(out var d) && d == 0), Is.True, "the burst");

        var reported = 0L;
        var passed = 0;
        for (var i = 0; i < 100_000; i++)
        {
            now += 1; // 100,000 lines in 100 s of a flood: 1,000 a second
            passed += budget.TryTake(out var dropped) ? 1 : 0;
            reported += dropped;
        }

        Assert.That(passed, Is.InRange(ConsoleBudget.LinesPerSecond * 100 - 1, ConsoleBudget.LinesPerSecond * 100 + 1), "the rate");
        now += 5_000;
        reported += budget.Flush();
        Assert.That(reported, Is.EqualTo(100_000 - passed), "every dropped line is counted");
        Assert.That(budget.Flush(), Is.Zero);
    }

    [Test]
    public void ALongLineIsCutSayingHowMuchWasLeftOut()
    {
        var line = new string('x', ConsoleBudget.MaxLineChars + 10);
        Assert.That(ConsoleBudget.Cut(line), Is.EqualTo(new string('x', ConsoleBudget.MaxLineChars) + "… (10 more characters)"));
        Assert.That(ConsoleBudget.Cut("short"), Is.EqualTo("short"));
    }
}

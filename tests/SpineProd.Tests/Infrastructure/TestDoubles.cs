namespace SpineProd.Tests.Infrastructure;

/// <summary>The stand-ins that jobs run in tests, in place of programs this machine does not have.</summary>
public static class TestDoubles
{
    /// <summary>SPINE: writes the outputs SPINE would name, and misbehaves as its inputs' names ask (FAIL, SLEEPn, OOMn).</summary>
    public static readonly string Spine = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    /// <summary>Singularity, Apptainer and Shifter: records the options, image and binds it was given, then runs the command.</summary>
    public static readonly string Container = Repo.Path_("tests", "doubles", "container-test-double.sh");
}
